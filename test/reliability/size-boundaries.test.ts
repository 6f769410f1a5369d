import { Agent, request as httpRequest } from 'node:http'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ADMIN_TOKEN, entityRegistered } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { report } from './support/report'
import { streamEvents } from './support/stream'

const LIMIT = 1_048_576
const EVENTS_PER_BATCH = 400

let nats: NatsServerHandle
let bridge: BridgeProcess
let nc: NatsConnection

beforeAll(async () => {
  nats = await startNatsServer()
  bridge = await startBridgeProcess({ natsUrl: nats.url, waitFor: 'ready' })
  nc = await connect({ servers: nats.url })
  nc.subscribe('echo.>', { callback: (_err, msg) => msg.respond(msg.data.subarray(0, 16)) })
  await nc.flush()
}, 60_000)

afterAll(async () => {
  await nc?.close()
  await bridge?.stop()
  await nats?.cleanup()
})

/** A batch of valid events whose JSON text is exactly `bytes` bytes long. */
const batchOfSize = (bytes: number) => {
  const events = Array.from({ length: EVENTS_PER_BATCH }, () => entityRegistered())
  const base = Buffer.byteLength(JSON.stringify({ events }))
  const pad = bytes - base
  const perEvent = Math.floor(pad / EVENTS_PER_BATCH)
  events.forEach((e, i) => {
    const extra = i === 0 ? pad - perEvent * (EVENTS_PER_BATCH - 1) : perEvent
    e.data = { ...e.data, description: `${e.data.description}${'x'.repeat(extra)}` }
  })
  const text = JSON.stringify({ events })
  expect(Buffer.byteLength(text)).toBe(bytes)
  return { text, ids: events.map((e) => e.event_id) }
}

/**
 * One POST over a fresh connection; `chunked` sends no Content-Length. The server may answer 413
 * before it has read the body. On a connection the client asked to close, the server closes right
 * after that answer and the rest of the body meets a reset, which can drop the answer before the
 * client reads it; on a keep-alive connection the server reads and discards the rest instead. The
 * body goes out in 64 KiB writes, each one only after the previous one was flushed and the socket
 * was polled for the answer, and none once the answer has arrived. A failed write (EPIPE,
 * ECONNRESET) after the answer is the expected end of a refused upload, not an error.
 */
const post = (path: string, body: string, chunked: boolean) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const data = Buffer.from(body)
    const headers: Record<string, string | number> = {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      'content-type': 'application/json',
    }
    if (!chunked) headers['content-length'] = data.byteLength
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    let responded = false
    const finish = (outcome: () => void) => {
      outcome()
      req.destroy()
      agent.destroy()
    }
    const req = httpRequest(`${bridge.url}${path}`, { method: 'POST', headers, agent }, (res) => {
      responded = true
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        text += chunk
      })
      res.on('end', () => finish(() => resolve({ status: res.statusCode ?? 0, body: text })))
      res.on('error', (err) => finish(() => reject(err)))
    })
    req.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code
      if (responded && (code === 'EPIPE' || code === 'ECONNRESET')) return
      finish(() => reject(err))
    })
    const CHUNK = 65_536
    const writeFrom = (offset: number) => {
      if (responded || req.destroyed) return
      if (offset >= data.byteLength) {
        req.end()
        return
      }
      req.write(data.subarray(offset, offset + CHUNK), (err) => {
        // two turns of the event loop: an I/O poll reads an answer that has arrived meanwhile
        if (!err) setImmediate(() => setImmediate(() => writeFrom(offset + CHUNK)))
      })
    }
    writeFrom(0)
  })

const detailed = async () =>
  (await (await fetch(`${bridge.url}/health/detailed`)).json()) as {
    nats: { state: string; reconnects: number }
  }

describe('size boundaries at the bridge (1 MiB limit)', () => {
  it('accepts limit − 1 and exactly the limit, refuses limit + 1 with 413, with and without Content-Length; stays connected', async () => {
    const cases = [
      { bytes: LIMIT - 1, chunked: false, status: 202 },
      { bytes: LIMIT, chunked: false, status: 202 },
      { bytes: LIMIT + 1, chunked: false, status: 413 },
      { bytes: LIMIT - 1, chunked: true, status: 202 },
      { bytes: LIMIT, chunked: true, status: 202 },
      { bytes: LIMIT + 1, chunked: true, status: 413 },
      { bytes: 4 * LIMIT, chunked: true, status: 413 },
    ]
    const accepted: string[] = []
    let sent = 0
    for (const c of cases) {
      const { text, ids } = batchOfSize(c.bytes)
      sent += ids.length
      const res = await post('/v1/events', text, c.chunked)
      expect({ ...c, status: res.status }, res.body.slice(0, 300)).toEqual(c)
      if (res.status === 202) accepted.push(...ids)
      else expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'payload_too_large' } })
    }

    // a request body at the limit is more than NATS carries with its headers: refused, not a 5xx
    const big = await post('/v1/request/echo.big', JSON.stringify('y'.repeat(LIMIT - 3)), true)
    expect(big.status).toBe(413)
    const over = await post('/v1/request/echo.big', JSON.stringify('y'.repeat(LIMIT)), true)
    expect(over.status).toBe(413)
    const small = await post('/v1/request/echo.small', JSON.stringify('ok'), false)
    expect(small.status).toBe(200)

    const state = await detailed()
    expect(state.nats).toMatchObject({ state: 'connected', reconnects: 0 })
    const inStream = new Set((await streamEvents(nats.url)).map((m) => m.msgId))
    const lost = accepted.filter((id) => !inStream.has(id))
    report({
      scenario: '7 size boundaries',
      sent,
      acked: accepted.length,
      received: inStream.size,
      lost: lost.length,
      duplicated: 0,
      recovery_ms: null,
      notes: { limit_bytes: LIMIT, cases: cases.length + 3, nats_reconnects: state.nats.reconnects },
    })
    expect(lost).toEqual([])
    expect(inStream.size).toBe(accepted.length)
  })
})
