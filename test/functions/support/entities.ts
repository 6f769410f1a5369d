import { expect } from 'vitest'
import { call, uniqueName } from './call'

/** Registers a strategy through the API and, unless told otherwise, validates it (a swap needs that). */
export const strategy = async (options: { validate?: boolean } = {}): Promise<string> => {
  const created = await call('/api/v1/entities', {
    json: {
      name: uniqueName('swap'),
      type: 'strategy',
      version: '1.0.0',
      description: 'Strategy used by swap tests',
      config: { symbols: ['MSFT'], max_position: 5 },
    },
  })
  expect(created.status).toBe(201)
  const id: string = created.body.id
  if (options.validate !== false)
    expect((await call(`/api/v1/entities/${id}/validate`, { method: 'POST' })).status).toBe(200)
  return id
}
