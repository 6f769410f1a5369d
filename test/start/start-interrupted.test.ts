import { type ChildProcess, spawn } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'

// `npm start` stopped before it is ready, and refused before it starts anything.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const STEP_TIMEOUT_MS = 120_000

const processGroup = (pgid: number): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
        return fields[0] !== 'Z' && Number(fields[2]) === pgid
      } catch {
        return false
      }
    })
    .map(Number)

let workDir: string | undefined
let child: ChildProcess | undefined

afterEach(async () => {
  if (child?.pid && child.exitCode === null && child.signalCode === null) {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {}
  }
  if (workDir) await rm(workDir, { recursive: true, force: true })
})

/** Live processes whose command line mentions `text`. */
const processesMentioning = (text: string): number[] =>
  readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        return readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)
      } catch {
        return false
      }
    })
    .map(Number)

/**
 * Runs scripts/start.ts as `npm start` does, in its own process group as a terminal would; with
 * `throughParent`, under a parent that relays its output and dies at the first Ctrl-C, closing the
 * pipe start.ts writes to.
 */
const start = async (env: Record<string, string>, throughParent = false) => {
  workDir = await mkdtemp(join(tmpdir(), 'npm-start-'))
  chmodSync(workDir, 0o755)
  const full: NodeJS.ProcessEnv = {
    ...process.env,
    STACK_DATA_DIR: join(workDir, 'data'),
    STACK_LOCAL_DIR: join(workDir, 'local'),
    NO_COLOR: '1',
    ...env,
  }
  delete full.NATS_URL
  delete full.DATABASE_URL
  const startArgs = ['--import', 'tsx', 'scripts/start.ts', '--quiet']
  const parent = `const c = require('node:child_process').spawn(process.execPath, ${JSON.stringify(startArgs)}, { stdio: ['ignore', 'pipe', 'pipe'] }); c.stdout.pipe(process.stdout); c.stderr.pipe(process.stderr)`
  const proc = spawn(process.execPath, throughParent ? ['-e', parent] : startArgs, {
    cwd: ROOT,
    env: full,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  child = proc
  let output = ''
  proc.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  proc.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString()
  })
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  return { proc, exit, output: () => output }
}

describe('npm start', () => {
  it('refuses one port for two components before starting anything', async () => {
    const port = String(await getFreePort())
    const run = await start({ BRIDGE_PORT: port, FUNCTIONS_PORT: port })
    expect(await run.exit).toBe(2)
    expect(run.output()).toContain(
      `BRIDGE_PORT and FUNCTIONS_PORT are both ${port}: each component needs a port of its own`,
    )
    expect(run.output()).not.toContain('nats-server')
    expect(existsSync(join(workDir!, 'data'))).toBe(false)
  })

  it(
    'Ctrl-C while the functions start says start-up was stopped, not that it failed, and leaves nothing running',
    async () => {
      const run = await start({
        BRIDGE_PORT: String(await getFreePort()),
        FUNCTIONS_PORT: String(await getFreePort()),
      })
      const deadline = Date.now() + STEP_TIMEOUT_MS
      // the bridge is up, so wrangler dev is starting
      while (!/✔ bridge/.test(run.output())) {
        if (run.proc.exitCode !== null) throw new Error(`npm start exited early:\n${run.output()}`)
        if (Date.now() > deadline) throw new Error(`the bridge did not start in time:\n${run.output()}`)
        await sleep(100)
      }
      // a terminal's Ctrl-C: SIGINT to the whole foreground process group
      process.kill(-run.proc.pid!, 'SIGINT')
      expect(await run.exit, run.output()).toBe(0)
      const text = run.output()
      expect(text).toContain('Ctrl-C during start-up: stopping what was started…')
      expect(text).not.toContain('npm start failed')
      expect(text).not.toMatch(/exited with code/)
      expect(text).toMatch(/stopped nats-server/)
      const settle = Date.now() + 10_000
      while (processGroup(run.proc.pid!).length && Date.now() < settle) await sleep(100)
      expect(processGroup(run.proc.pid!)).toEqual([])
    },
    STEP_TIMEOUT_MS + 60_000,
  )

  it(
    'stops what it started even when the reader of its output is gone first',
    async () => {
      const run = await start(
        { BRIDGE_PORT: String(await getFreePort()), FUNCTIONS_PORT: String(await getFreePort()) },
        true,
      )
      const deadline = Date.now() + STEP_TIMEOUT_MS
      while (!/✔ postgres /.test(run.output())) {
        if (run.proc.exitCode !== null) throw new Error(`npm start exited early:\n${run.output()}`)
        if (Date.now() > deadline) throw new Error(`postgres did not start in time:\n${run.output()}`)
        await sleep(100)
      }
      const dir = workDir!
      expect(processesMentioning(dir).length).toBeGreaterThanOrEqual(2)
      process.kill(-run.proc.pid!, 'SIGINT')
      await run.exit
      // nats-server and postgres run in their own process groups, with the state dir on their command line
      const settle = Date.now() + 30_000
      while (processesMentioning(dir).length && Date.now() < settle) await sleep(200)
      expect(processesMentioning(dir)).toEqual([])
    },
    STEP_TIMEOUT_MS + 60_000,
  )
})
