import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { generateSchemas, listFiles, SCHEMAS_DIR } from '../../scripts/schemas'
import { EVENT_TYPES } from '../../shared/event-types'

const generated = generateSchemas()

describe('committed JSON Schema', () => {
  it('covers every event type, the union and the swap bodies', () => {
    for (const type of EVENT_TYPES) expect(generated.has(`events/${type}.json`)).toBe(true)
    for (const name of [
      'library-event.json',
      'swap/swap-request.json',
      'swap/swap-response.json',
      'swap/swap-command.json',
      'swap/swap-validation-reply.json',
      'README.md',
    ])
      expect(generated.has(name)).toBe(true)
  })

  it('holds exactly the generated files (run `npm run schemas` after changing shared/)', async () => {
    expect(await listFiles(SCHEMAS_DIR)).toEqual([...generated.keys()].sort())
  })

  it.each([...generated.keys()])('%s matches what `npm run schemas` writes', async (path) => {
    expect(await readFile(join(SCHEMAS_DIR, path), 'utf8')).toBe(generated.get(path))
  })

  it('describes the original spec fields of entity.registered as required', () => {
    const schema = JSON.parse(generated.get('events/entity.registered.json')!)
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema')
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.data.type).toBe('object')
    expect(schema.properties.metadata.type).toBe('object')
    expect(schema.required).toEqual(
      expect.arrayContaining([
        'event_id',
        'event_type',
        'timestamp',
        'entity_id',
        'entity_name',
        'entity_type',
        'version',
      ]),
    )
  })

  it('describes the union as one schema per event type', () => {
    const union = JSON.parse(generated.get('library-event.json')!)
    const variants: { properties: { event_type: { const: string } } }[] = union.oneOf ?? union.anyOf
    expect(variants.map((variant) => variant.properties.event_type.const).sort()).toEqual(
      [...EVENT_TYPES].sort(),
    )
  })

  it('gives validate_only its default in the swap request schema', () => {
    const schema = JSON.parse(generated.get('swap/swap-request.json')!)
    expect(schema.properties.validate_only).toEqual({ type: 'boolean', default: false })
    expect(schema.required.sort()).toEqual(['from_entity_id', 'initiated_by', 'reason', 'to_entity_id'])
  })
})
