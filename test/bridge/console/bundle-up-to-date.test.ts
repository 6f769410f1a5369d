import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { consoleScript } from '../../../bridge/console/app.bundle'
import { CONSOLE_BUNDLE, consoleBundleModule } from '../../../scripts/lib/console-bundle'

const ROOT = join(import.meta.dirname, '../../..')

describe('console bundle', () => {
  it(`${CONSOLE_BUNDLE} is what npm run build:console makes of the client sources`, async () => {
    const committed = readFileSync(join(ROOT, CONSOLE_BUNDLE), 'utf8')
    expect(committed, 'run npm run build:console and commit the result').toBe(await consoleBundleModule(ROOT))
  })

  it('bundles the shared event types and no module imports', () => {
    expect(consoleScript).toContain('"performance.threshold_exceeded"')
    expect(consoleScript).not.toMatch(/^\s*import\s/m)
  })
})
