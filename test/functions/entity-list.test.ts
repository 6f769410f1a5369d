import { beforeAll, describe, expect, it } from 'vitest'
import { TEST_API_KEYS } from './support/api-keys'
import { call, uniqueName } from './support/call'

const prefix = uniqueName('listing')
const ids: Record<string, string> = {}

const names = (res: { body: { items: Array<{ name: string }> } }) => res.body.items.map((e) => e.name)

describe('GET /entities', () => {
  beforeAll(async () => {
    for (const [suffix, type] of [
      ['a', 'strategy'],
      ['b', 'model'],
      ['c', 'strategy'],
      ['d', 'strategy'],
      ['e', 'indicator'],
    ] as const) {
      const res = await call('/api/v1/entities', {
        json: { name: `${prefix}_${suffix}`, type, version: '1.0.0' },
      })
      expect(res.status).toBe(201)
      ids[suffix] = res.body.id
    }
    expect(
      (await call(`/api/v1/entities/${ids.c}`, { method: 'PATCH', json: { status: 'deprecated' } })).status,
    ).toBe(200)
    expect((await call(`/api/v1/entities/${ids.d}`, { method: 'DELETE' })).status).toBe(200)
  })

  it('filters by name prefix, type and status; deleted ones only when asked for', async () => {
    const read = { key: TEST_API_KEYS.reader.key }
    expect(names(await call(`/api/v1/entities?name_prefix=${prefix}`, read))).toEqual(
      ['a', 'b', 'c', 'e'].map((s) => `${prefix}_${s}`),
    )
    expect(names(await call(`/api/v1/entities?name_prefix=${prefix}&type=strategy`, read))).toEqual([
      `${prefix}_a`,
      `${prefix}_c`,
    ])
    expect(names(await call(`/api/v1/entities?name_prefix=${prefix}&status=deprecated`, read))).toEqual([
      `${prefix}_c`,
    ])
    const deleted = await call(`/api/v1/entities?name_prefix=${prefix}&status=deleted`, read)
    expect(names(deleted)).toEqual([`${prefix}_d`])
    expect(deleted.body.items[0].deleted_at).not.toBeNull()
    // a prefix is literal, not a pattern
    expect(
      names(await call(`/api/v1/entities?name_prefix=${encodeURIComponent(`${prefix}%`)}`, read)),
    ).toEqual([])
  })

  it('pages with a cursor in a stable order until next_cursor is null', async () => {
    const seen: string[] = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = `name_prefix=${prefix}&limit=2${cursor ? `&cursor=${cursor}` : ''}`
      const res = await call(`/api/v1/entities?${query}`)
      expect(res.status).toBe(200)
      expect(res.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...names(res))
      cursor = res.body.next_cursor
      pages++
    } while (cursor !== null && pages < 10)
    expect(pages).toBe(2)
    expect(seen).toEqual(['a', 'b', 'c', 'e'].map((s) => `${prefix}_${s}`))
  })

  it('GET /entities/{id} returns a deleted entity with its status', async () => {
    const res = await call(`/api/v1/entities/${ids.d}`)
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ id: ids.d, status: 'deleted' })
  })
})
