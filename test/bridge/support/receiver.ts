import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'

export interface Delivery {
  id: string
  headers: Record<string, string>
  body: string
  at: number
  /** True when the standardwebhooks library accepted the signature. */
  verified: boolean
  status: number
}

export type Reply = { status: number; headers?: Record<string, string> }

/** A real HTTP webhook receiver that records and verifies every delivery and answers as told. */
export class Receiver {
  readonly deliveries: Delivery[] = []
  connections = 0
  secret: string | undefined
  /** May return a promise to hold the response open (a slow receiver). */
  reply: (delivery: Omit<Delivery, 'status'>, attempt: number) => Reply | Promise<Reply> = () => ({
    status: 204,
  })
  #waiters: Array<() => void> = []

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Receiver> {
    let receiver: Receiver | undefined
    const server = createServer((req, res) => receiver?.handle(req, res))
    server.on('connection', () => {
      if (receiver) receiver.connections++
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    receiver = new Receiver(server, `http://127.0.0.1:${port}/hook`)
    return receiver
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      const headers: Record<string, string> = {}
      for (const [k, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[k] = value
      let verified = false
      if (this.secret) {
        try {
          new Webhook(this.secret).verify(body, headers)
          verified = true
        } catch {
          verified = false
        }
      }
      const id = headers['webhook-id'] ?? ''
      const partial = { id, headers, body, at: Date.now(), verified }
      const attempt = this.deliveries.filter((d) => d.id === id).length + 1
      const answer = (reply: Reply) => {
        this.deliveries.push({ ...partial, status: reply.status })
        res.writeHead(reply.status, reply.headers)
        res.end()
        for (const waiter of this.#waiters.splice(0)) waiter()
      }
      const reply = this.reply(partial, attempt)
      if (reply instanceof Promise) void reply.then(answer)
      else answer(reply)
    })
  }

  ok(): Delivery[] {
    return this.deliveries.filter((d) => d.status >= 200 && d.status < 300)
  }

  attemptsFor(id: string): Delivery[] {
    return this.deliveries.filter((d) => d.id === id)
  }

  /** Resolves once `predicate` holds; checked after every delivery. */
  async until(predicate: (r: Receiver) => boolean): Promise<void> {
    while (!predicate(this)) await new Promise<void>((resolve) => this.#waiters.push(resolve))
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }
}
