import type { Attributes, Context, Link, Span, TextMapGetter, TextMapSetter } from '@opentelemetry/api'
import { traceContextFrom } from '../trace-context'

export type SpanKindName = 'server' | 'client' | 'producer' | 'consumer' | 'internal'

export interface SpanOptions {
  kind: SpanKindName
  attributes?: Attributes
  links?: Link[]
}

type HeaderGetter = (name: string) => string | null | undefined

/** What a messaging span says of its NATS operation (semantic conventions for messaging). */
export interface NatsOperation {
  type: 'send' | 'receive' | 'process'
  /** The client's own name for it: publish, request, forward, process… */
  name: string
  destination: string
  messageId?: string
  bodySize?: number
  consumerGroup?: string
}

/** Where the SDK's own warnings and errors go (a failed export, a bad OTEL_* value). */
export interface TracingLog {
  warn(message: string): void
  error(message: string): void
}
type HeaderSetter = (name: string, value: string) => void

/** A tracer exporting over OTLP/HTTP, with W3C trace context in and out of any set of headers. */
export interface Tracing {
  /** Stable semantic-convention names (`ATTR_HTTP_ROUTE`…). */
  readonly semconv: typeof import('@opentelemetry/semantic-conventions')
  /** Incubating ones: the messaging attributes live there. */
  readonly incubating: typeof import('@opentelemetry/semantic-conventions/incubating')
  /** The remote parent a valid `traceparent` (and `tracestate`) names, else undefined. */
  extract(header: HeaderGetter): Context | undefined
  /** Starts a span under `parent`, or as the root of a new trace. */
  startSpan(name: string, options: SpanOptions, parent?: Context): Span
  /** The context in which `span` is the parent. */
  contextOf(span: Span): Context
  /** Writes `traceparent` (and `tracestate`) naming `span`. */
  inject(span: Span, set: HeaderSetter): void
  /** `messaging.system = nats` and the attributes of `operation`. */
  natsAttributes(operation: NatsOperation): Attributes
  linkTo(span: Span): Link
  /** A link to the span a carried context (`extract`) names. */
  linkToContext(context: Context): Link | undefined
  /** Marks the span failed; `errorType` goes to `error.type`. */
  fail(span: Span, errorType: string, message?: string): void
  /** Ends what is pending and flushes the exporter. */
  shutdown(): Promise<void>
}

const getter: TextMapGetter<HeaderGetter> = {
  get: (header, key) => header(key) ?? undefined,
  keys: () => ['traceparent', 'tracestate'],
}
const setter: TextMapSetter<HeaderSetter> = { set: (set, key, value) => set(key, value) }

/**
 * Every OpenTelemetry module is imported here, dynamically: a bundle (esbuild hoists static imports
 * of external packages) then loads none of them while tracing is off.
 */
export const createTracing = async ({
  serviceName,
  serviceVersion,
  log,
}: {
  serviceName: string
  serviceVersion?: string
  log?: TracingLog
}): Promise<Tracing> => {
  const [api, core, sdk, otlp, resources, semconv, incubating] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/semantic-conventions'),
    import('@opentelemetry/semantic-conventions/incubating'),
  ])
  const { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } = api
  if (log) {
    const text = (message: string, args: unknown[]) => [message, ...args.map(String)].join(' ')
    const quiet = () => undefined
    api.diag.setLogger(
      {
        error: (message, ...args) => log.error(text(message, args)),
        warn: (message, ...args) => log.warn(text(message, args)),
        info: quiet,
        debug: quiet,
        verbose: quiet,
      },
      api.DiagLogLevel.WARN,
    )
  }
  const KINDS: Record<SpanKindName, (typeof SpanKind)[keyof typeof SpanKind]> = {
    server: SpanKind.SERVER,
    client: SpanKind.CLIENT,
    producer: SpanKind.PRODUCER,
    consumer: SpanKind.CONSUMER,
    internal: SpanKind.INTERNAL,
  }
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over the defaults here.
  const resource = resources
    .defaultResource()
    .merge(
      resources.resourceFromAttributes({
        [semconv.ATTR_SERVICE_NAME]: serviceName,
        ...(serviceVersion ? { [semconv.ATTR_SERVICE_VERSION]: serviceVersion } : {}),
      }),
    )
    .merge(resources.detectResources({ detectors: [resources.envDetector] }))
  // The provider reads OTEL_TRACES_SAMPLER(_ARG) and the span limits, the batch processor
  // OTEL_BSP_*, the exporter OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, compression).
  const provider = new sdk.BasicTracerProvider({
    resource,
    spanProcessors: [new sdk.BatchSpanProcessor(new otlp.OTLPTraceExporter())],
  })
  const tracer = provider.getTracer(serviceName, serviceVersion)
  const propagator = new core.W3CTraceContextPropagator()
  const {
    ATTR_MESSAGING_CONSUMER_GROUP_NAME,
    ATTR_MESSAGING_DESTINATION_NAME,
    ATTR_MESSAGING_MESSAGE_BODY_SIZE,
    ATTR_MESSAGING_MESSAGE_ID,
    ATTR_MESSAGING_OPERATION_NAME,
    ATTR_MESSAGING_OPERATION_TYPE,
    ATTR_MESSAGING_SYSTEM,
  } = incubating

  return {
    semconv,
    incubating,
    extract(header) {
      const carried = traceContextFrom(header)
      if (!carried) return undefined
      return propagator.extract(ROOT_CONTEXT, (name: string) => carried[name as keyof typeof carried], getter)
    },
    startSpan(name, { kind, attributes, links }, parent) {
      return tracer.startSpan(name, { kind: KINDS[kind], attributes, links }, parent ?? ROOT_CONTEXT)
    },
    contextOf: (span) => trace.setSpan(ROOT_CONTEXT, span),
    inject(span, set) {
      propagator.inject(trace.setSpan(ROOT_CONTEXT, span), set, setter)
    },
    natsAttributes: ({ type, name, destination, messageId, bodySize, consumerGroup }) => {
      const attributes: Attributes = {
        [ATTR_MESSAGING_SYSTEM]: 'nats',
        [ATTR_MESSAGING_OPERATION_TYPE]: type,
        [ATTR_MESSAGING_OPERATION_NAME]: name,
        [ATTR_MESSAGING_DESTINATION_NAME]: destination,
      }
      if (messageId !== undefined) attributes[ATTR_MESSAGING_MESSAGE_ID] = messageId
      if (bodySize !== undefined) attributes[ATTR_MESSAGING_MESSAGE_BODY_SIZE] = bodySize
      if (consumerGroup !== undefined) attributes[ATTR_MESSAGING_CONSUMER_GROUP_NAME] = consumerGroup
      return attributes
    },
    linkTo: (span) => ({ context: span.spanContext() }),
    linkToContext(context) {
      const carried = trace.getSpanContext(context)
      return carried && { context: carried }
    },
    fail(span, errorType, message) {
      span.setAttribute(semconv.ATTR_ERROR_TYPE, errorType)
      span.setStatus({ code: SpanStatusCode.ERROR, message })
    },
    shutdown: () => provider.shutdown(),
  }
}
