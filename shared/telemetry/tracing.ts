// Node only (the bridge and the executor): the functions never import shared/telemetry.
import type { Tracing, TracingLog } from './sdk'

export type { SpanKindName, SpanOptions, Tracing, TracingLog } from './sdk'

type Environment = Record<string, string | undefined>

const set = (value: string | undefined) => value !== undefined && value.trim() !== ''

/**
 * On iff an OTLP endpoint is configured and neither `OTEL_SDK_DISABLED=true` nor
 * `OTEL_TRACES_EXPORTER=none` turns it off. The SDK reads every other `OTEL_*` variable itself.
 */
export const tracingEnabled = (env: Environment): boolean =>
  (set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_ENDPOINT)) &&
  env.OTEL_SDK_DISABLED?.trim().toLowerCase() !== 'true' &&
  env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() !== 'none'

/**
 * Tracing exported over OTLP/HTTP, or undefined when it is off: then nothing of the SDK is loaded
 * and callers skip every span. `env` is the process environment, which the SDK also reads.
 */
export const startTracing = async (
  env: Environment,
  options: { serviceName: string; serviceVersion?: string; log?: TracingLog },
): Promise<Tracing | undefined> => {
  if (!tracingEnabled(env)) return undefined
  const { createTracing } = await import('./sdk')
  return createTracing(options)
}
