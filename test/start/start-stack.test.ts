import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { chmodSync, existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'

// One real `npm start` (nats-server, Postgres, relay, bridge, wrangler dev, swap executor) in a
// private state directory and on free ports; SIGTERM must leave no process of it behind.

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const READY_TIMEOUT_MS = 150_000

interface ProcInfo {
  pid: number
  ppid: number
  pgrp: number
}

const processTable = (): ProcInfo[] => {
  const table: ProcInfo[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      // a zombie has exited already; it only waits for its parent to reap it
      if (fields[0] === 'Z') continue
      table.push({ pid: Number(entry), ppid: Number(fields[1]), pgrp: Number(fields[2]) })
    } catch {
      // exited while we looked
    }
  }
  return table
}

/** Every live process below `root`, including those in the process groups its children lead. */
const descendants = (root: number): Set<number> => {
  const table = processTable()
  const found = new Set<number>()
  let frontier = [root]
  while (frontier.length) {
    const next: number[] = []
    for (const p of table) {
      if (frontier.includes(p.ppid) && !found.has(p.pid)) {
        found.add(p.pid)
        next.push(p.pid)
      }
    }
    frontier = next
  }
  const rootGroup = table.find((p) => p.pid === root)?.pgrp
  const groups = new Set([...found].map((pid) => table.find((p) => p.pid === pid)?.pgrp))
  groups.delete(rootGroup)
  for (const p of table) if (groups.has(p.pgrp)) found.add(p.pid)
  return found
}

const alive = (pids: Iterable<number>) => {
  const live = new Set(processTable().map((p) => p.pid))
  return [...pids].filter((pid) => live.has(pid))
}

describe('npm start', () => {
  let workDir: string
  let child: ChildProcess
  let output = ''
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  const ports = { bridge: 0, functions: 0 }

  beforeAll(async () => {
    workDir = await mkdtemp(join(tmpdir(), 'npm-start-'))
    // the postgres system user has to reach its cluster directory inside
    chmodSync(workDir, 0o755)
    ports.bridge = await getFreePort()
    ports.functions = await getFreePort()
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      STACK_DATA_DIR: join(workDir, 'data'),
      STACK_LOCAL_DIR: join(workDir, 'local'),
      BRIDGE_PORT: String(ports.bridge),
      FUNCTIONS_PORT: String(ports.functions),
      NO_COLOR: '1',
    }
    delete env.NATS_URL
    delete env.DATABASE_URL
    child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts', '--quiet'], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
    })
    exit = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  })

  afterAll(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      await Promise.race([exit, sleep(30_000)])
    }
    await rm(workDir, { recursive: true, force: true })
  })

  it(
    'reaches ready, serves health endpoints, and stops everything on SIGTERM',
    async () => {
      const stackFile = join(workDir, 'local', 'stack.json')
      const deadline = Date.now() + READY_TIMEOUT_MS
      while (!/^ready$/m.test(output) || !existsSync(stackFile)) {
        if (child.exitCode !== null) throw new Error(`npm start exited early (${child.exitCode}):\n${output}`)
        if (Date.now() > deadline) throw new Error(`npm start not ready in time:\n${output}`)
        await sleep(200)
      }

      const stack = JSON.parse(readFileSync(stackFile, 'utf8'))
      expect(stack).toMatchObject({
        nats_url: expect.stringMatching(/^nats:\/\/127\.0\.0\.1:\d+$/),
        database_url: expect.stringMatching(/^postgres:\/\//),
        bridge_url: `http://127.0.0.1:${ports.bridge}`,
        functions_url: `http://127.0.0.1:${ports.functions}`,
        tokens: {
          admin: expect.any(String),
          functions: expect.any(String),
          api: expect.any(String),
        },
      })
      for (const url of [
        `${stack.functions_url}/health`,
        `${stack.bridge_url}/health`,
        `${stack.bridge_url}/ready`,
      ]) {
        const res = await fetch(url)
        expect(res.status, url).toBe(200)
        await res.body?.cancel()
      }
      const detailed = await fetch(`${stack.functions_url}/health/detailed`)
      expect(await detailed.json()).toMatchObject({ database: { status: 'ok' } })

      // npm run check:stack passes and leaves no entity of its own in the lists
      const check = spawnSync(
        process.execPath,
        ['--import', 'tsx', 'scripts/check-stack.ts', '--stack', stackFile],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, NO_COLOR: '1' },
          timeout: 60_000,
        },
      )
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0)
      expect(check.stdout).toContain('✔ check entity deleted')
      const list = await fetch(`${stack.functions_url}/api/v1/entities?name_prefix=check-stack-`, {
        headers: { authorization: `Bearer ${stack.tokens.api}` },
      })
      expect(list.status).toBe(200)
      expect(((await list.json()) as { items: unknown[] }).items).toEqual([])

      const started = descendants(child.pid!)
      // nats-server, postgres (+ its workers), bridge, wrangler (+ workerd), swap executor
      expect(started.size).toBeGreaterThanOrEqual(5)

      child.kill('SIGTERM')
      const { code } = await exit
      expect(code, output).toBe(0)
      expect(existsSync(stackFile)).toBe(false)
      // a process that has just been SIGKILLed can take a moment to disappear from /proc
      const settle = Date.now() + 5_000
      while (alive(started).length && Date.now() < settle) await sleep(100)
      expect(alive(started)).toEqual([])
    },
    READY_TIMEOUT_MS + 60_000,
  )
})
