/**
 * Span attributes the semantic conventions have no name for. NATS has no system-specific
 * messaging attributes yet; these follow the `messaging.{system}.*` pattern.
 */
/** Sequence the stream stored the event under (the PubAck's `seq`). */
export const ATTR_NATS_STREAM_SEQUENCE = 'messaging.nats.stream.sequence'
/** Stream that acknowledged the event. */
export const ATTR_NATS_STREAM_NAME = 'messaging.nats.stream.name'
/** The stream already held this `Nats-Msg-Id`: the publish was a duplicate it dropped. */
export const ATTR_NATS_DUPLICATE = 'messaging.nats.duplicate'
/** Milliseconds from the publish to its PubAck. */
export const ATTR_PUBACK_LATENCY_MS = 'library.puback_latency_ms'
export const ATTR_EVENT_TYPE = 'library.event.type'
/** ok, timeout, no_responders, unavailable, too_large or error. */
export const ATTR_RELAY_OUTCOME = 'library.relay.outcome'
export const ATTR_WEBHOOK_SUBSCRIPTION = 'library.webhook.subscription'
/** 1 for the first delivery of a message, 2 for its first retry… */
export const ATTR_WEBHOOK_ATTEMPT = 'library.webhook.attempt'
/** delivered, failed, rate_limited, gone or refused. */
export const ATTR_WEBHOOK_OUTCOME = 'library.webhook.outcome'
/** The attempt was the last one allowed: the message went to the dead-letter stream. */
export const ATTR_WEBHOOK_DEAD_LETTERED = 'library.webhook.dead_lettered'
/** jetstream or core: where an SSE connection's events come from. */
export const ATTR_SSE_SOURCE = 'library.sse.source'
