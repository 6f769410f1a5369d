import { type AddressInfo, createServer, type Server, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { deliver } from '../../../bridge/subscriptions/deliver'
import { parseAllowlist, type ResolveAll } from '../../../bridge/subscriptions/ssrf-guard'
import { Receiver } from '../support/receiver'

let receiver: Receiver

beforeAll(async () => {
  receiver = await Receiver.start()
})

afterAll(async () => {
  await receiver?.close()
})

const toLoopback: ResolveAll = async () => [{ address: '127.0.0.1', family: 4 }]

const post = (url: string, policy = parseAllowlist([], true), resolve?: ResolveAll) =>
  deliver({ url, body: '{}', headers: {}, timeoutMs: 2_000, policy, resolve })

describe('webhook delivery connections', () => {
  it('reuses one kept-alive connection for deliveries to the same target', async () => {
    const policy = parseAllowlist(['127.0.0.1'])
    const before = receiver.connections
    for (let i = 0; i < 5; i++) expect((await post(receiver.url, policy)).kind).toBe('delivered')
    expect(receiver.connections - before).toBe(1)
  })

  it('never reuses a connection under a policy that did not vet its address', async () => {
    const url = `http://hooks.example.test:${receiver.port}/hook`
    const allowing = parseAllowlist(['*.example.test'])
    expect((await post(url, allowing, toLoopback)).kind).toBe('delivered')
    const before = receiver.connections
    const delivered = receiver.deliveries.length
    const refused = await post(url, parseAllowlist([]), toLoopback)
    expect(refused).toMatchObject({ kind: 'refused', error: expect.stringMatching(/loopback/) })
    expect(receiver.connections).toBe(before)
    expect(receiver.deliveries).toHaveLength(delivered)
  })

  it('sends again on a new connection when the receiver dropped a kept-alive one unanswered', async () => {
    // Answers the first request on each connection; closes the connection on the second without answering.
    const sockets: Socket[] = []
    const server: Server = createServer((socket) => {
      sockets.push(socket)
      let requests = 0
      socket.on('data', () => {
        requests++
        if (requests === 1) socket.write('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n')
        else socket.resetAndDestroy()
      })
      socket.on('error', () => undefined)
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`
    try {
      expect(await post(url)).toMatchObject({ kind: 'delivered' })
      expect(await post(url)).toMatchObject({ kind: 'delivered' })
      expect(sockets).toHaveLength(2)
    } finally {
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
