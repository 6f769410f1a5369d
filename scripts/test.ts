import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import { join } from 'node:path'
import {
  aptInstall,
  type Checked,
  canInstallPackages,
  check,
  chromiumRequirement,
  missingReport,
  natsServerRequirement,
  nodeRequirement,
  plan,
  postgresRequirement,
  runIncludes,
} from './lib/prerequisites'
import { bold, dim, green, red, yellow } from './lib/stack/ansi'
import { ROOT } from './lib/stack/paths'

// `npm test [-- <vitest arguments>]`: dependencies (scripts/bootstrap.mjs), then the machine's
// prerequisites, then the typecheck and vitest.

const vitestArgs = process.argv.slice(2)
const engines = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines?: { node?: string } }
).engines?.node

const requirements = [
  nodeRequirement(engines ?? '>=20.3.0'),
  natsServerRequirement,
  postgresRequirement,
  ...(runIncludes(vitestArgs, 'test/bridge/console/console.test.ts') ? [chromiumRequirement] : []),
]

const summary = (checked: Checked[]) =>
  checked.map((c) => `${c.requirement.name} ${dim(c.found ?? '')}`).join(', ')

const prerequisites = () => {
  const canInstall = canInstallPackages()
  const first = plan(check(requirements), canInstall)
  if (first.missing.length) {
    console.error(red(missingReport(first.missing, first.install)))
    process.exit(1)
  }
  if (first.install.length) {
    const packages = first.install.map((c) => c.requirement.aptPackage!)
    console.log(
      yellow(
        `! missing ${first.install.map((c) => c.requirement.name).join(', ')}: installing ` +
          `apt-get install -y ${packages.join(' ')} (this takes a while)…`,
      ),
    )
    if (!aptInstall(packages)) {
      console.error(red(`apt-get install -y ${packages.join(' ')} failed; see the output above`))
      process.exit(1)
    }
    const again = plan(check(requirements), false)
    if (again.missing.length) {
      console.error(red(missingReport(again.missing)))
      process.exit(1)
    }
    console.log(`${green('✔')} prerequisites: ${summary(again.found)}`)
    return
  }
  console.log(`${green('✔')} prerequisites: ${summary(first.found)}`)
}

let child: ReturnType<typeof spawn> | undefined
let firstInterrupt: number | undefined
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (!child) process.exit(128 + constants.signals[sig])
    if (sig === 'SIGINT') {
      // a terminal's Ctrl-C reaches the child itself, and npm relays it here as well: passing that
      // on would make vitest skip its teardown. A later one (or one sent to npm alone) is passed on.
      const repeated = firstInterrupt !== undefined && Date.now() - firstInterrupt > 1_000
      firstInterrupt ??= Date.now()
      if (!repeated) return
    }
    child.kill(sig)
  })
}

const run = (command: string, args: string[]) =>
  new Promise<number>((resolve) => {
    console.log(dim(`> ${[command, ...args].join(' ')}`))
    child = spawn(command, args, { cwd: ROOT, stdio: 'inherit' })
    child.once('error', (err) => {
      console.error(red(`${command}: ${err.message}`))
      resolve(1)
    })
    child.once('exit', (code, signal) => {
      child = undefined
      resolve(code ?? 128 + (signal ? constants.signals[signal] : 0))
    })
  })

console.log(bold('npm test'))
prerequisites()
const bin = (name: string) => join(ROOT, 'node_modules', '.bin', name)
const typecheck = await run(process.platform === 'win32' ? 'npm.cmd' : 'npm', [
  'run',
  '--silent',
  'typecheck',
])
if (typecheck !== 0) {
  console.error(red('typecheck failed'))
  process.exit(typecheck)
}
process.exit(await run(bin('vitest'), ['run', ...vitestArgs]))
