import { type ClientRequest, type IncomingMessage, request } from 'node:http'

export interface ReceivedEvent {
  id?: string
  event?: string
  data: string
}

/**
 * A minimal EventSource over node:http that keeps every parsed event and can stop reading
 * (pause) to play a client that does not keep up.
 */
export class SseTestClient {
  readonly events: ReceivedEvent[] = []
  retry: number | undefined
  heartbeats = 0
  status = 0
  ended = false
  #buffer = ''
  #waiters: Array<() => void> = []
  #req: ClientRequest | undefined
  #res: IncomingMessage | undefined
  #errorBody = ''

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseTestClient> {
    const client = new SseTestClient()
    await client.#connect(url, headers)
    return client
  }

  get errorBody(): unknown {
    return this.#errorBody ? JSON.parse(this.#errorBody) : undefined
  }

  get lastId(): string | undefined {
    return this.events.findLast((e) => e.id !== undefined)?.id
  }

  #connect(url: string, headers: Record<string, string>): Promise<void> {
    return new Promise((resolve, reject) => {
      const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
        this.#res = res
        this.status = res.statusCode ?? 0
        res.setEncoding('utf8')
        if (this.status !== 200) {
          res.on('data', (chunk: string) => {
            this.#errorBody += chunk
          })
          res.on('end', () => resolve())
          return
        }
        res.on('data', (chunk: string) => this.#feed(chunk))
        const finish = () => {
          this.ended = true
          this.#wake()
        }
        res.on('end', finish)
        res.on('close', finish)
        res.on('error', finish)
        resolve()
      })
      req.on('error', (err) => {
        this.ended = true
        this.#wake()
        reject(err)
      })
      req.end()
      this.#req = req
    })
  }

  #feed(chunk: string): void {
    this.#buffer += chunk
    let boundary = this.#buffer.indexOf('\n\n')
    while (boundary !== -1) {
      const block = this.#buffer.slice(0, boundary)
      this.#buffer = this.#buffer.slice(boundary + 2)
      this.#parse(block)
      boundary = this.#buffer.indexOf('\n\n')
    }
    this.#wake()
  }

  #parse(block: string): void {
    const event: ReceivedEvent = { data: '' }
    const data: string[] = []
    let isEvent = false
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        this.heartbeats++
        continue
      }
      const colon = line.indexOf(':')
      const field = colon === -1 ? line : line.slice(0, colon)
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
      if (field === 'retry') this.retry = Number(value)
      else if (field === 'id') {
        event.id = value
        isEvent = true
      } else if (field === 'event') {
        event.event = value
        isEvent = true
      } else if (field === 'data') {
        data.push(value)
        isEvent = true
      }
    }
    if (!isEvent) return
    event.data = data.join('\n')
    this.events.push(event)
  }

  #wake(): void {
    for (const waiter of this.#waiters.splice(0)) waiter()
  }

  /** Resolves once `predicate` holds (checked after every chunk), or rejects when the stream ends first. */
  async until(predicate: (client: SseTestClient) => boolean, what = 'condition'): Promise<void> {
    while (!predicate(this)) {
      if (this.ended) throw new Error(`stream ended before ${what} (got ${this.events.length} events)`)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  waitForEvents(count: number): Promise<void> {
    return this.until((c) => c.events.length >= count, `${count} events`)
  }

  async waitForEnd(): Promise<void> {
    while (!this.ended) await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  pause(): void {
    this.#res?.pause()
  }

  resume(): void {
    this.#res?.resume()
  }

  close(): void {
    this.#req?.destroy()
    this.#res?.destroy()
    this.ended = true
    this.#wake()
  }
}
