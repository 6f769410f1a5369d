import { once } from 'node:events'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type FaultProxy, startFaultProxy } from './fault-proxy'

let echo: Server
let echoPort: number
const serverSockets = new Set<Socket>()
let proxy: FaultProxy

beforeAll(async () => {
  echo = createServer((socket) => {
    serverSockets.add(socket)
    socket.on('close', () => serverSockets.delete(socket))
    socket.on('error', () => {})
    socket.pipe(socket)
  })
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve))
  echoPort = (echo.address() as { port: number }).port
})

afterAll(async () => {
  for (const s of serverSockets) s.destroy()
  await new Promise((resolve) => echo.close(resolve))
})

afterEach(async () => {
  await proxy?.close()
  await until(() => serverSockets.size === 0, 'the echo server to see every connection closed')
})

const open = async (p: FaultProxy) => {
  const socket = tcpConnect({ host: p.host, port: p.port })
  socket.on('error', () => {})
  await once(socket, 'connect')
  const received: Buffer[] = []
  socket.on('data', (chunk: Buffer) => received.push(chunk))
  let closed = false
  socket.on('close', () => {
    closed = true
  })
  return {
    socket,
    text: () => Buffer.concat(received).toString(),
    bytes: () => received.reduce((n, b) => n + b.length, 0),
    closed: () => closed,
  }
}

const until = async (check: () => boolean, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** Lets the event loop and the kernel move whatever is in flight. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 300))

describe('fault proxy against a real echo server', () => {
  it('passes bytes both ways unchanged', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    const c = await open(proxy)
    c.socket.write('hello through the proxy')
    await until(() => c.text() === 'hello through the proxy', 'the echo')
    expect(proxy.stats).toMatchObject({ accepted: 1, bytesUp: 23, bytesDown: 23 })
    c.socket.destroy()
  })

  it('cut closes both sides and refuses new connections until healed', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    const c = await open(proxy)
    c.socket.write('x')
    await until(() => c.text() === 'x', 'the echo')
    const upstreamBefore = serverSockets.size
    proxy.cut()
    await until(() => c.closed(), 'the client side to close')
    await until(() => serverSockets.size === upstreamBefore - 1, 'the server side to close')
    const refused = await open(proxy)
    await until(() => refused.closed(), 'a new connection to be closed')
    expect(proxy.stats.refused).toBe(1)
    proxy.heal()
    const again = await open(proxy)
    again.socket.write('back')
    await until(() => again.text() === 'back', 'the echo after heal')
    again.socket.destroy()
  })

  it('blackhole keeps the sockets open, forwards nothing, and delivers what it held at heal', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    const c = await open(proxy)
    c.socket.write('a')
    await until(() => c.text() === 'a', 'the echo')
    proxy.blackhole()
    const upBefore = proxy.stats.bytesUp
    c.socket.write('held')
    await settle()
    expect(c.text()).toBe('a')
    expect(proxy.stats.bytesUp).toBe(upBefore)
    expect(c.closed()).toBe(false)
    expect(proxy.connections()).toBe(1)
    proxy.heal()
    await until(() => c.text() === 'aheld', 'the held bytes to go through')
    c.socket.destroy()
  })

  it('a connection made while blackholed hangs without reaching the server, then works after heal', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    proxy.blackhole()
    const before = serverSockets.size
    const c = await open(proxy)
    c.socket.write('early')
    await settle()
    expect(serverSockets.size).toBe(before)
    expect(c.text()).toBe('')
    expect(c.closed()).toBe(false)
    proxy.heal()
    await until(() => c.text() === 'early', 'the echo after heal')
    c.socket.destroy()
  })

  it('a close during a blackhole reaches the other side only at heal', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    const c = await open(proxy)
    c.socket.write('z')
    await until(() => c.text() === 'z', 'the echo')
    const before = serverSockets.size
    proxy.blackhole()
    c.socket.destroy()
    await settle()
    expect(serverSockets.size).toBe(before)
    proxy.heal()
    await until(() => serverSockets.size === before - 1, 'the server side to close')
  })

  it('latency delays each direction', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    proxy.latency(150)
    const c = await open(proxy)
    const started = Date.now()
    c.socket.write('slow')
    await until(() => c.text() === 'slow', 'the echo')
    // 150 ms on the way there and 150 ms on the way back
    expect(Date.now() - started).toBeGreaterThanOrEqual(300)
    c.socket.destroy()
  })

  it('bandwidth throttles each direction', async () => {
    proxy = await startFaultProxy({ target: { port: echoPort } })
    const rate = 64 * 1024
    proxy.bandwidth(rate)
    const c = await open(proxy)
    const size = 96 * 1024
    const started = Date.now()
    c.socket.write(Buffer.alloc(size, 1))
    await until(() => c.bytes() === size, 'the echo of every byte', 20_000)
    // the bucket starts empty and holds at most a 1/20 s burst
    expect(Date.now() - started).toBeGreaterThanOrEqual((size / rate) * 1000 * 0.9)
    proxy.bandwidth(null)
    c.socket.destroy()
  })
})
