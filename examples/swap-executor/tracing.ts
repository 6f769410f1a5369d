import type { Span } from '@opentelemetry/api'
import { headers, type MsgHdrs } from 'nats'
import type { Tracing } from '../../shared/telemetry/tracing'

export const ATTR_SWAP_ID = 'library.swap.id'
export const ATTR_SWAP_ACTION = 'library.swap.action'
/** completed, failed, rejected, validated, rolled_back, or invalid_command. */
export const ATTR_SWAP_STATUS = 'library.swap.status'

/** A consumer span per `library.swap.command` answered, under the command's `traceparent`. */
export const startCommandSpan = (
  tracing: Tracing,
  { subject, queue, carried }: { subject: string; queue: string; carried: MsgHdrs | undefined },
): Span => {
  return tracing.startSpan(
    `process ${subject}`,
    {
      kind: 'consumer',
      attributes: tracing.natsAttributes({
        type: 'process',
        name: 'process',
        destination: subject,
        consumerGroup: queue,
      }),
    },
    tracing.extract((name) => carried?.get(name)),
  )
}

/** Headers whose `traceparent` names `span`, for the requests and events sent while handling it. */
export const tracedHeaders = (trace: { tracing: Tracing; span: Span } | undefined): MsgHdrs => {
  const h = headers()
  trace?.tracing.inject(trace.span, (name, value) => h.set(name, value))
  return h
}
