import { setTimeout as sleep } from 'node:timers/promises'
import { backoffDelay } from '../shared/backoff'
import { blue, bold, colorEnabled, cyan, dim, gray, green, magenta, red, yellow } from './lib/stack/ansi'
import { parseCli } from './lib/stack/cli'
import { stackFilePath } from './lib/stack/paths'
import { readStackFile } from './lib/stack/stack-file'

/**
 * Terminal client of the bridge's SSE stream: `npm run tail -- 'library.entity.>' --from start`.
 * Reconnects after a drop and resumes after the last stream sequence it printed (Last-Event-ID).
 */

const USAGE = `Usage: npm run tail -- [<subject pattern>] [options]

Prints events from the bridge's GET /v1/subscribe stream as they arrive: coloured lines on a
terminal, one JSON object per line ({"seq", "event", "data"}) when piped.

  <subject pattern>    NATS subject pattern (default: library.>)
  --from <position>    start, new (default), a stream sequence, or an ISO-8601 time
  --url <bridge url>   default: bridge_url from .local/stack.json
  --token <token>      default: the admin token from .local/stack.json (or BRIDGE_TOKEN)
  --stack <path>       stack file (default .local/stack.json)
  --json               JSON lines even on a terminal
  -h, --help`

const { values: flags, positionals } = parseCli(
  {
    allowPositionals: true,
    options: {
      from: { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      stack: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  },
  USAGE,
)
if (flags.help) {
  console.log(USAGE)
  process.exit(0)
}

const fatal = (message: string): never => {
  console.error(red(`tail: ${message}`))
  process.exit(1)
}

const pattern = positionals[0] ?? 'library.>'
let bridgeUrl = flags.url
let token = flags.token ?? process.env.BRIDGE_TOKEN
if (!bridgeUrl || !token) {
  try {
    const stack = readStackFile(flags.stack ?? stackFilePath())
    bridgeUrl ??= stack.bridge_url
    token ??= stack.tokens?.admin
  } catch (err) {
    fatal((err as Error).message)
  }
}
if (!bridgeUrl) fatal('no bridge URL: the stack file has no bridge_url; pass --url')
if (!token) fatal('no token: the stack file has no admin token; pass --token')

const IDLE_TIMEOUT_MS = 60_000

const pretty = !flags.json && colorEnabled(process.stdout)

interface SseFrame {
  id?: string
  event?: string
  data: string
}

/** Splits an SSE byte stream into frames (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
async function* readFrames(
  body: ReadableStream<Uint8Array>,
  onActivity: () => void,
): AsyncGenerator<SseFrame> {
  const decoder = new TextDecoder()
  let buffer = ''
  let frame: { id?: string; event?: string; data: string[] } = { data: [] }
  for await (const chunk of body) {
    onActivity()
    buffer += decoder.decode(chunk, { stream: true })
    const lines = buffer.split(/\r\n|\r|\n/)
    buffer = lines.pop() ?? ''
    for (const line of lines) {
      if (line === '') {
        if (frame.data.length > 0 || frame.event !== undefined) {
          yield { id: frame.id, event: frame.event, data: frame.data.join('\n') }
        }
        frame = { data: [] }
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'data') frame.data.push(value)
      else if (field === 'event') frame.event = value
      else if (field === 'id') frame.id = value
    }
  }
}

const typeColour = (type: string) => {
  if (type.startsWith('entity.')) return green
  if (type.startsWith('deployment.')) return blue
  if (type.startsWith('swap.')) return magenta
  if (type.startsWith('health.')) return yellow
  if (type.startsWith('performance.')) return red
  return cyan
}

const clock = (iso: unknown) => {
  const date = typeof iso === 'string' ? new Date(iso) : new Date()
  return Number.isNaN(date.getTime()) ? String(iso) : date.toISOString().slice(11, 23)
}

const shortId = (id: unknown) => (typeof id === 'string' ? id.slice(0, 8) : undefined)

const printPretty = (frame: SseFrame, data: unknown) => {
  const event = (data ?? {}) as Record<string, unknown>
  const type = frame.event ?? String(event.event_type ?? 'message')
  const ids = [
    ['entity', shortId(event.entity_id)],
    ['deployment', shortId(event.deployment_id)],
    ['swap', shortId(event.swap_id)],
  ]
    .filter(([, v]) => v)
    .map(([k, v]) => `${k} ${v}`)
    .join(' ')
  const name = typeof event.entity_name === 'string' ? ` ${bold(event.entity_name)}` : ''
  const head = `${gray(`#${frame.id ?? '-'}`.padStart(7))} ${dim(clock(event.timestamp))} ${typeColour(type)(type.padEnd(30))}${name} ${ids}`
  const payload =
    typeof data === 'object' && data !== null && 'data' in data ? (data as { data: unknown }).data : data
  const text = JSON.stringify(payload)
  const width = (process.stdout.columns ?? 120) - 10
  console.log(head)
  if (text && text !== '{}')
    console.log(`        ${dim(text.length > width ? `${text.slice(0, width - 1)}…` : text)}`)
}

const print = (frame: SseFrame) => {
  let data: unknown = frame.data
  try {
    data = JSON.parse(frame.data)
  } catch {
    // not JSON: print it as a string
  }
  if (pretty) printPretty(frame, data)
  else
    console.log(
      JSON.stringify({ seq: frame.id === undefined ? null : Number(frame.id), event: frame.event, data }),
    )
}

const status = (text: string) => process.stderr.write(`${pretty ? dim(text) : text}\n`)

const controller = new AbortController()
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    controller.abort()
    process.exit(0)
  })
}

const run = async () => {
  let lastId: string | undefined
  let attempt = 0
  const url = new URL('/v1/subscribe', bridgeUrl)
  url.searchParams.set('subject', pattern)
  if (flags.from) url.searchParams.set('from', flags.from)

  for (;;) {
    let reason: string
    let idle: NodeJS.Timeout | undefined
    try {
      const headers: Record<string, string> = {
        authorization: `Bearer ${token}`,
        accept: 'text/event-stream',
      }
      if (lastId !== undefined) headers['last-event-id'] = lastId
      // the bridge sends heartbeats; silence this long means a dead connection that never said so
      const connection = new AbortController()
      const touch = () => {
        clearTimeout(idle)
        idle = setTimeout(() => connection.abort(), IDLE_TIMEOUT_MS)
      }
      touch()
      const res = await fetch(url, {
        headers,
        signal: AbortSignal.any([controller.signal, connection.signal]),
      })
      if (res.status === 200 && res.body) {
        if (attempt > 0 || lastId === undefined) {
          status(
            lastId === undefined
              ? `tailing ${pattern} at ${bridgeUrl}${flags.from ? ` from ${flags.from}` : ''} (Ctrl-C to stop)`
              : `reconnected, resuming after #${lastId}`,
          )
        }
        attempt = 0
        for await (const frame of readFrames(res.body, touch)) {
          if (frame.event === 'error') {
            status(`the bridge ended the stream: ${frame.data}`)
            continue
          }
          print(frame)
          if (frame.id !== undefined) lastId = frame.id
        }
        reason = 'the stream ended'
      } else {
        const text = await res.text()
        let message = text
        try {
          const body = JSON.parse(text) as { error?: { message?: string } }
          message = body.error?.message ?? text
        } catch {}
        // bad pattern, bad token, missing scope: retrying will not help
        if (res.status >= 400 && res.status < 500 && res.status !== 429)
          fatal(`HTTP ${res.status}: ${message}`)
        reason = `HTTP ${res.status}: ${message}`
      }
    } catch (err) {
      if (controller.signal.aborted) return
      const error = err as Error
      reason =
        error.name === 'AbortError'
          ? `no data for ${IDLE_TIMEOUT_MS / 1_000} s`
          : error.cause instanceof Error
            ? error.cause.message
            : error.message
    }
    clearTimeout(idle)
    const delay = backoffDelay(attempt, { initialMs: 500, maxMs: 10_000 })
    attempt += 1
    status(
      `${reason}; reconnecting in ${(delay / 1_000).toFixed(1)} s${lastId ? ` (will resume after #${lastId})` : ''}`,
    )
    await sleep(delay)
  }
}

await run()
