// Runs before `npm start` (plain JS: tsx itself may not be installed yet).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
if (!existsSync(`${root}/node_modules/.bin/tsx`) || !existsSync(`${root}/node_modules/.bin/wrangler`)) {
  console.log('node_modules is missing: installing dependencies (npm ci)…')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' })
  if (result.status !== 0) {
    console.error('npm ci failed; fix the error above and run `npm start` again')
    process.exit(result.status ?? 1)
  }
}
