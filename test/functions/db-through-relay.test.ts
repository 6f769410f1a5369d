import { SELF } from 'cloudflare:test'
import { describe, expect, it } from 'vitest'

describe('functions inside workerd', () => {
  it('answers /health', async () => {
    const res = await SELF.fetch('http://functions.test/health')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('queries the real Postgres through the WebSocket relay', async () => {
    const res = await SELF.fetch('http://functions.test/health/detailed')
    const body = await res.json<{ database: { status: string; rtt_ms: number } }>()
    expect(res.status).toBe(200)
    expect(body.database.status).toBe('ok')
    expect(typeof body.database.rtt_ms).toBe('number')
  })
})
