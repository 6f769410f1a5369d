import type { ServerResponse } from 'node:http'
import type { MsgHdrs } from 'nats'

export interface SseEvent {
  id?: string
  event?: string
  data: string
  /** The NATS message's headers (its trace context), never written to the client. */
  headers?: MsgHdrs
}

export interface SseConnectionOptions {
  heartbeatMs: number
  retryMs: number
  bufferBytes: number
  cutGraceMs: number
}

export type CloseReason = 'client_closed' | 'slow_consumer' | 'upstream_error' | 'shutdown'

const LINE_BREAK = /\r\n|\r|\n/

export const formatEvent = ({ id, event, data }: SseEvent): string => {
  let frame = ''
  if (id !== undefined) frame += `id: ${id}\n`
  if (event !== undefined) frame += `event: ${event}\n`
  for (const line of data.split(LINE_BREAK)) frame += `data: ${line}\n`
  return `${frame}\n`
}

/** A fanned-out event is formatted once for all of its clients. */
const frames = new WeakMap<SseEvent, string>()

/**
 * One Server-Sent Events response written straight to the Node socket, so that a client that
 * does not read shows up as bytes piling up in `writableLength` and can be cut.
 */
export class SseConnection {
  #closed = false
  #reason: CloseReason | undefined
  #heartbeat: NodeJS.Timeout | undefined
  readonly #closeListeners = new Set<(reason: CloseReason) => void>()
  readonly done: Promise<CloseReason>

  constructor(
    private readonly res: ServerResponse,
    private readonly options: SseConnectionOptions,
  ) {
    this.done = new Promise((resolve) => this.#closeListeners.add(resolve))
    res.once('close', () => this.#finish('client_closed'))
  }

  get closed(): boolean {
    return this.#closed
  }

  open(headers: Record<string, string> = {}): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      ...headers,
    })
    this.res.socket?.setNoDelay(true)
    this.#write(`retry: ${this.options.retryMs}\n\n`)
    this.#heartbeat = setInterval(() => this.#write(': heartbeat\n\n'), this.options.heartbeatMs)
    this.#heartbeat.unref()
  }

  /** False once the connection is closed (by the client, or cut here). */
  send(event: SseEvent): boolean {
    let frame = frames.get(event)
    if (frame === undefined) {
      frame = formatEvent(event)
      frames.set(event, frame)
    }
    return this.#write(frame)
  }

  onClose(listener: (reason: CloseReason) => void): void {
    if (this.#closed && this.#reason) listener(this.#reason)
    else this.#closeListeners.add(listener)
  }

  /** Ends the stream with a final `event: error`; a client that does not read it in time is dropped. */
  cut(reason: Exclude<CloseReason, 'client_closed'>, message: string): void {
    if (this.#closed) return
    this.#finish(reason)
    const res = this.res
    res.end(formatEvent({ event: 'error', data: JSON.stringify({ code: reason, message }) }))
    if (!res.writableFinished) {
      const timer = setTimeout(() => res.destroy(), this.options.cutGraceMs)
      timer.unref()
      res.once('close', () => clearTimeout(timer))
    }
  }

  #write(frame: string): boolean {
    if (this.#closed) return false
    this.res.write(frame)
    if (this.res.writableLength > this.options.bufferBytes) {
      this.cut('slow_consumer', `client did not keep up: more than ${this.options.bufferBytes} bytes unread`)
      return false
    }
    return true
  }

  #finish(reason: CloseReason): void {
    if (this.#closed) return
    this.#closed = true
    this.#reason = reason
    clearInterval(this.#heartbeat)
    for (const listener of this.#closeListeners) listener(reason)
    this.#closeListeners.clear()
  }
}
