// `node scripts/bootstrap.mjs <entry.ts> [args…]`: installs dependencies when node_modules is
// missing or does not match package.json, then runs the TypeScript entry in this same process.
// Plain JS, because tsx itself may not be installed yet; one process, so signals from npm reach
// the entry directly.
import { spawnSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { installedVersionIn, staleDependencies } from './lib/installed-dependencies.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const manifest = JSON.parse(readFileSync(`${root}/package.json`, 'utf8'))
const why = !existsSync(`${root}/node_modules`)
  ? ['node_modules is missing']
  : staleDependencies(manifest, installedVersionIn(root))
if (why) {
  const shown = why.slice(0, 3).join('; ') + (why.length > 3 ? `; and ${why.length - 3} more` : '')
  console.log(`${shown}: installing dependencies (npm ci)…`)
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error('npm ci failed; fix the error above and run the command again')
    process.exit(result.status ?? 1)
  }
}

const entry = process.argv[2]
if (entry) {
  // the entry parses process.argv.slice(2) as its own arguments
  process.argv.splice(2, 1)
  const { register } = await import('tsx/esm/api')
  register()
  await import(pathToFileURL(resolve(process.cwd(), entry)).href)
}
