import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePort, portCollisions, preferredOrFreePort } from '../../scripts/lib/stack/ports'

describe('the stack refuses ports given to two components', () => {
  it('accepts distinct ports', () => {
    expect(portCollisions({ BRIDGE_PORT: 8340, FUNCTIONS_PORT: 8350, NATS_URL: 4222 })).toBeUndefined()
    expect(
      portCollisions({ BRIDGE_PORT: 8340, FUNCTIONS_PORT: 8350, DATABASE_URL: undefined }),
    ).toBeUndefined()
  })
  it('names the variables that share a port', () => {
    expect(portCollisions({ BRIDGE_PORT: 8350, FUNCTIONS_PORT: 8350 })).toBe(
      'BRIDGE_PORT and FUNCTIONS_PORT are both 8350: each component needs a port of its own',
    )
    expect(
      portCollisions({ BRIDGE_PORT: 4222, FUNCTIONS_PORT: 5432, NATS_URL: 4222, DATABASE_URL: 5432 }),
    ).toBe(
      'BRIDGE_PORT and NATS_URL are both 4222; FUNCTIONS_PORT and DATABASE_URL are both 5432: each component needs a port of its own',
    )
    expect(portCollisions({ A: 1, B: 1, C: 1 })).toBe(
      'A and B and C are all 1: each component needs a port of its own',
    )
  })
})

describe('preferred ports of started components', () => {
  it('takes the preferred port when free, another one when it is kept for another component', async () => {
    const port = await freePort()
    expect(await preferredOrFreePort(port)).toBe(port)
    const other = await preferredOrFreePort(port, [port])
    expect(other).not.toBe(port)
    expect(other).toBeGreaterThan(0)
  })
  it('takes another port when the preferred one is in use', async () => {
    const server = createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const taken = (server.address() as { port: number }).port
    try {
      expect(await preferredOrFreePort(taken)).not.toBe(taken)
    } finally {
      server.close()
    }
  })
})
