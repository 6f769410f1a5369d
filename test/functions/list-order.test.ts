import { describe, expect, it } from 'vitest'
import { TEST_API_KEYS } from './support/api-keys'
import { type CallResult, call, uniqueName } from './support/call'
import { query } from './support/database'

/** Moves the sequence so the next `count` rows straddle a power of ten, where text order differs from numeric. */
const straddleDigitBoundary = async (sequence: string, count: number) => {
  const [row] = await query<{ last: string }>(`select last_value::text as last from ${sequence}`)
  const boundary = 10 ** String(BigInt(row!.last) + BigInt(count)).length
  await query(`select setval('${sequence}', greatest((select last_value from ${sequence}), $1::bigint))`, [
    boundary - Math.ceil(count / 2) - 1,
  ])
}

describe('list order across a digit boundary of seq', () => {
  it('pages through entities in insertion order, none skipped', async () => {
    const prefix = uniqueName('paging')
    await straddleDigitBoundary('entities_seq_seq', 8)
    const created: string[] = []
    for (let i = 0; i < 8; i++) {
      const res = await call('/api/v1/entities', {
        json: { name: `${prefix}_${i}`, type: 'indicator', version: '1.0.0' },
      })
      expect(res.status).toBe(201)
      created.push(res.body.id)
    }

    const seen: string[] = []
    let cursor: string | null = null
    do {
      const page: CallResult<{ items: { id: string }[]; next_cursor: string | null }> = await call(
        `/api/v1/entities?name_prefix=${prefix}&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
        { key: TEST_API_KEYS.reader.key },
      )
      expect(page.status).toBe(200)
      seen.push(...page.body.items.map((e) => e.id))
      cursor = page.body.next_cursor
    } while (cursor)
    expect(seen).toEqual(created)
  })
})
