import { connect } from 'cloudflare:sockets'

/**
 * A minimal NATS client over a workerd TCP socket (the `nats` package needs Node's net): enough of
 * the protocol (https://docs.nats.io/reference/reference-protocols/nats-protocol) for tests to see
 * message headers and to answer requests. No auth, no TLS, no reconnect.
 */

export interface WireMessage {
  subject: string
  replyTo?: string
  /** Header names as sent (NATS headers are case-sensitive); one value per name. */
  headers: Map<string, string>
  data: Uint8Array
  json<T = Record<string, unknown>>(): T
}

export interface PublishOptions {
  replyTo?: string
  headers?: Record<string, string>
  /** A status line code, as nats-server itself sends (503 on an empty message means no responders). */
  status?: number
}

export interface NatsWire {
  /** Resolves once the server has registered the subscription. */
  subscribe(subject: string, onMessage: (message: WireMessage) => void): Promise<void>
  publish(subject: string, data: string, options?: PublishOptions): Promise<void>
  request(subject: string, data: string, timeoutMs?: number): Promise<WireMessage>
  close(): Promise<void>
}

const encoder = new TextEncoder()
const decoder = new TextDecoder()
const CRLF = encoder.encode('\r\n')

const indexOfCrlf = (bytes: Uint8Array, from = 0) => {
  for (let i = from; i < bytes.length - 1; i++) if (bytes[i] === CRLF[0] && bytes[i + 1] === CRLF[1]) return i
  return -1
}

/** A header block (`NATS/1.0[ status]\r\nName: value\r\n…\r\n\r\n`) as a map. */
export const parseHeaders = (block: string): Map<string, string> => {
  const headers = new Map<string, string>()
  for (const line of block.split('\r\n').slice(1)) {
    const colon = line.indexOf(':')
    if (colon > 0) headers.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  return headers
}

export const connectNats = async (url: string): Promise<NatsWire> => {
  const { hostname, port } = new URL(url)
  const socket = connect({ hostname, port: Number(port) })
  const writer = socket.writable.getWriter()
  const reader = socket.readable.getReader()
  const write = (text: string) => writer.write(encoder.encode(text))

  const handlers = new Map<string, (message: WireMessage) => void>()
  const pongs: Array<() => void> = []
  let buffer = new Uint8Array(0)
  let nextSid = 1
  let failure: Error | undefined

  /** Handles every complete protocol message in the buffer; false when more bytes are needed. */
  const handleOne = (): boolean => {
    const end = indexOfCrlf(buffer)
    if (end === -1) return false
    const line = decoder.decode(buffer.subarray(0, end))
    const [op = '', ...args] = line.split(' ')
    const start = end + 2
    if (op === 'MSG' || op === 'HMSG') {
      const withHeaders = op === 'HMSG'
      const total = Number(args[args.length - 1])
      if (buffer.length < start + total + 2) return false
      const headerBytes = withHeaders ? Number(args[args.length - 2]) : 0
      const [subject = '', sid = '', ...rest] = args
      const replyTo = rest.length > (withHeaders ? 2 : 1) ? rest[0] : undefined
      const body = buffer.slice(start, start + total)
      buffer = buffer.slice(start + total + 2)
      const data = body.subarray(headerBytes)
      handlers.get(sid)?.({
        subject,
        replyTo,
        headers: withHeaders ? parseHeaders(decoder.decode(body.subarray(0, headerBytes))) : new Map(),
        data,
        json: <T>() => JSON.parse(decoder.decode(data)) as T,
      })
      return true
    }
    buffer = buffer.slice(start)
    if (op === 'PING') void write('PONG\r\n')
    else if (op === 'PONG') pongs.shift()?.()
    else if (op === '-ERR') failure = new Error(`nats-server: ${line}`)
    return true
  }

  const pump = (async () => {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      const joined = new Uint8Array(buffer.length + value.length)
      joined.set(buffer)
      joined.set(value, buffer.length)
      buffer = joined
      while (handleOne());
    }
  })().catch((err: unknown) => {
    failure = err instanceof Error ? err : new Error(String(err))
  })

  /** A PING answered means the server has processed everything written before it. */
  const flush = async () => {
    const answered = new Promise<void>((resolve) => pongs.push(resolve))
    await write('PING\r\n')
    await answered
    if (failure) throw failure
  }

  await write(
    `CONNECT ${JSON.stringify({ verbose: false, pedantic: false, headers: true, no_responders: true, protocol: 1, lang: 'test', version: '0' })}\r\n`,
  )
  await flush()

  const subscribe = async (subject: string, onMessage: (message: WireMessage) => void) => {
    const sid = String(nextSid++)
    handlers.set(sid, onMessage)
    await write(`SUB ${subject} ${sid}\r\n`)
    await flush()
  }

  const publish = async (subject: string, data: string, options: PublishOptions = {}) => {
    const reply = options.replyTo ? ` ${options.replyTo}` : ''
    const size = encoder.encode(data).length
    if (!options.headers && options.status === undefined) {
      await write(`PUB ${subject}${reply} ${size}\r\n${data}\r\n`)
      return
    }
    const lines = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`)
    const block = `NATS/1.0${options.status === undefined ? '' : ` ${options.status}`}\r\n${lines.join('')}\r\n`
    const headerSize = encoder.encode(block).length
    await write(`HPUB ${subject}${reply} ${headerSize} ${headerSize + size}\r\n${block}${data}\r\n`)
  }

  return {
    subscribe,
    publish,
    request: async (subject, data, timeoutMs = 10_000) => {
      const inbox = `_INBOX.${crypto.randomUUID().replaceAll('-', '')}`
      let answer: (message: WireMessage) => void = () => {}
      const reply = new Promise<WireMessage>((resolve) => {
        answer = resolve
      })
      await subscribe(inbox, answer)
      await publish(subject, data, { replyTo: inbox })
      let timer: ReturnType<typeof setTimeout> | undefined
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no reply on ${subject} in ${timeoutMs} ms`)), timeoutMs)
      })
      return Promise.race([reply, timeout]).finally(() => clearTimeout(timer))
    },
    close: async () => {
      await socket.close().catch(() => {})
      await pump
    },
  }
}
