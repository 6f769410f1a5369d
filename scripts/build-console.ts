import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CONSOLE_BUNDLE, consoleBundleModule } from './lib/console-bundle'

const ROOT = join(import.meta.dirname, '..')

writeFileSync(join(ROOT, CONSOLE_BUNDLE), await consoleBundleModule(ROOT))
console.log(`wrote ${CONSOLE_BUNDLE}`)
