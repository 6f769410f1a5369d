import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { findNatsServerBin } from './stack/nats'
import { findPgBinDir, runAs } from './stack/postgres'

/**
 * What `npm test` needs from the machine, checked before anything runs: one report of everything
 * missing instead of a failure deep inside one test file. Debian packages are installed when run
 * as root on Debian/Ubuntu, the way `npm start` installs nats-server.
 */

export interface Requirement {
  name: string
  /** What needs it, for the report. */
  neededFor: string
  /** Where it was found, or why it is missing. */
  probe(): { found: string } | { missing: string }
  /** The Debian package that provides it, when it can be installed. */
  aptPackage?: string
  /** How to provide it by hand. */
  hint: string
}

export interface Checked {
  requirement: Requirement
  found?: string
  missing?: string
}

export interface Plan {
  found: Checked[]
  /** Missing, and installable here (root on Debian). */
  install: Checked[]
  /** Missing, and not installable here. */
  missing: Checked[]
}

const parseVersion = (version: string): number[] =>
  version
    .replace(/^v/, '')
    .split(/[.+-]/)
    .slice(0, 3)
    .map((part) => Number.parseInt(part, 10) || 0)

/** `version` ≥ the lowest version a `>=x.y.z` range allows (any other range is not checked). */
export const satisfiesMinimum = (version: string, range: string): boolean => {
  const minimum = /^>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(range.trim())?.[1]
  if (!minimum) return true
  const have = parseVersion(version)
  const want = parseVersion(minimum)
  for (let i = 0; i < 3; i++) {
    const a = have[i] ?? 0
    const b = want[i] ?? 0
    if (a !== b) return a > b
  }
  return true
}

/**
 * Whether a vitest run with these arguments includes `file`: no file filters means the whole
 * suite; otherwise a filter selects the files whose path contains it, as vitest does.
 */
export const runIncludes = (vitestArgs: string[], file: string): boolean => {
  const filters: string[] = []
  for (let i = 0; i < vitestArgs.length; i++) {
    const arg = vitestArgs[i]!
    if (arg.startsWith('-')) {
      // options that take a separate value; the value is not a file filter
      if (!arg.includes('=') && OPTIONS_WITH_VALUE.has(arg)) i++
      continue
    }
    filters.push(arg)
  }
  const projects = vitestArgs.flatMap((arg, i) =>
    arg === '--project' ? [vitestArgs[i + 1] ?? ''] : arg.startsWith('--project=') ? [arg.slice(10)] : [],
  )
  if (projects.length && !projects.includes(projectOf(file))) return false
  return filters.length === 0 || filters.some((filter) => file.includes(filter.replace(/^\.\//, '')))
}

const OPTIONS_WITH_VALUE = new Set([
  '--project',
  '-t',
  '--testNamePattern',
  '--reporter',
  '--config',
  '-c',
  '--root',
  '-r',
  '--dir',
  '--shard',
  '--pool',
  '--maxWorkers',
  '--outputFile',
  '--testTimeout',
  '--hookTimeout',
  '--retry',
  '--bail',
  '--mode',
  '--environment',
  '--exclude',
  '--sequence.seed',
])

const projectOf = (file: string) =>
  file.startsWith('test/functions/')
    ? 'workers'
    : file.startsWith('test/reliability/')
      ? 'reliability'
      : 'node'

/** Splits the checked requirements into found, installable and missing. */
export const plan = (checked: Checked[], canInstall: boolean): Plan => ({
  found: checked.filter((c) => c.found !== undefined),
  install: checked.filter((c) => c.found === undefined && canInstall && c.requirement.aptPackage),
  missing: checked.filter((c) => c.found === undefined && !(canInstall && c.requirement.aptPackage)),
})

/** The one message listing everything missing, with how to provide each. */
export const missingReport = (missing: Checked[], installable: Checked[] = []): string => {
  const lines = ['npm test cannot run: this machine lacks what the tests need.']
  for (const c of missing) {
    lines.push(`  ✘ ${c.requirement.name} (${c.requirement.neededFor}): ${c.missing}`)
    lines.push(`      → ${c.requirement.hint}`)
  }
  for (const c of installable) {
    lines.push(
      `  ○ ${c.requirement.name} (${c.requirement.neededFor}): ${c.missing}; would be installed (apt-get install -y ${c.requirement.aptPackage})`,
    )
  }
  if (missing.some((c) => c.requirement.aptPackage)) {
    lines.push('Run as root on Debian/Ubuntu and npm test installs the Debian packages itself.')
  }
  return lines.join('\n')
}

const isRoot = () => process.getuid?.() === 0
const isDebian = () => existsSync('/etc/debian_version')

/** Root on Debian/Ubuntu: missing Debian packages are installed. */
export const canInstallPackages = () => process.platform === 'linux' && isDebian() && isRoot()

const sudo = (command: string) => (isRoot() ? command : `sudo ${command}`)

export const CHROMIUM_DEFAULT_PATH = '/usr/bin/chromium'

/** `CHROMIUM_PATH`, else Debian's Chromium. */
export const chromiumPath = () => process.env.CHROMIUM_PATH || CHROMIUM_DEFAULT_PATH

const attempt = (fn: () => string | undefined, absent: string): { found: string } | { missing: string } => {
  try {
    const found = fn()
    return found ? { found } : { missing: absent }
  } catch (err) {
    return { missing: (err as Error).message.split('\n')[0]! }
  }
}

export const nodeRequirement = (range: string): Requirement => ({
  name: 'Node.js',
  neededFor: `package.json engines ${range}`,
  probe: () =>
    satisfiesMinimum(process.versions.node, range)
      ? { found: process.versions.node }
      : { missing: `this is Node ${process.versions.node}` },
  hint: `install Node.js ${range} (https://nodejs.org/en/download)`,
})

export const natsServerRequirement: Requirement = {
  name: 'nats-server',
  neededFor: 'every NATS fixture',
  probe: () => attempt(findNatsServerBin, 'not on PATH nor in an sbin directory'),
  aptPackage: 'nats-server',
  hint: `${sudo('apt-get install -y nats-server')} (macOS: brew install nats-server), or set NATS_SERVER_BIN`,
}

export const chromiumRequirement: Requirement = {
  name: 'Chromium',
  neededFor: 'the console test drives it headless',
  probe: () => {
    const path = chromiumPath()
    return existsSync(path) ? { found: path } : { missing: `not found at ${path}` }
  },
  aptPackage: 'chromium',
  hint: `${sudo('apt-get install -y chromium')}, or set CHROMIUM_PATH to a Chromium or Chrome binary`,
}

export const postgresRequirement: Requirement = {
  name: 'PostgreSQL',
  neededFor: 'each test file gets its own database',
  probe: () => {
    if (process.env.TEST_DATABASE_URL) return { found: 'TEST_DATABASE_URL' }
    if (process.env.DATABASE_URL) return { found: 'DATABASE_URL' }
    return attempt(() => {
      const dir = findPgBinDir()
      // initdb refuses root: the tests run it as the postgres system user
      runAs()
      return dir
    }, 'no server binaries')
  },
  aptPackage: 'postgresql',
  hint: `${sudo('apt-get install -y postgresql')}, set PG_BIN_DIR to the directory of initdb and pg_ctl, or set DATABASE_URL to a server the tests may create databases on`,
}

export const check = (requirements: Requirement[]): Checked[] =>
  requirements.map((requirement) => ({ requirement, ...requirement.probe() }))

/** `apt-get install -y <packages>`, with `apt-get update` first when the lists are empty. */
export const aptInstall = (packages: string[]): boolean => {
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status === 0
  const install = () => apt(['install', '-y', '-qq', ...packages])
  if (install()) return true
  // a fresh container has no package lists yet
  return apt(['update']) && install()
}
