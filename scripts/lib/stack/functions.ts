import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { sha256Hex } from './dev-secrets'
import { waitForHttpOk } from './http-wait'
import { launch, type ManagedProcess } from './managed-process'

export const FUNCTIONS_ENTRY = 'functions/index.ts'

export interface RunningFunctions {
  url: string
  process: ManagedProcess
  /** Stops the local cron timer. */
  stopCron(): void
}

export const functionsExist = (root: string) =>
  existsSync(join(root, FUNCTIONS_ENTRY)) && existsSync(join(root, 'wrangler.toml'))

/** The API_KEYS binding for plain keys: each key's name, the SHA-256 of the key, its scopes (default both). */
export const apiKeysVar = (keys: { name: string; key: string; scopes?: ('read' | 'write')[] }[]): string =>
  JSON.stringify(
    keys.map(({ name, key, scopes = ['read', 'write'] }) => ({ name, sha256: sha256Hex(key), scopes })),
  )

// dotenv format; single quotes keep JSON values literal
const toEnvFile = (vars: Record<string, string>) =>
  `${Object.entries(vars)
    .map(([key, value]) => {
      if (value.includes("'") || value.includes('\n'))
        throw new Error(`${key}: value cannot go in an env file`)
      return `${key}='${value}'`
    })
    .join('\n')}\n`

/** The first cron of wrangler.toml, and how often it fires (only simple minute schedules are understood). */
export const cronSchedule = (root: string): { cron: string; intervalMs: number } | undefined => {
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8')
  const match = /crons\s*=\s*\[\s*"([^"]+)"/.exec(toml)
  if (!match) return undefined
  const cron = match[1]!
  const everyN = /^\*\/(\d+) \* \* \* \*$/.exec(cron)
  const intervalMs = cron === '* * * * *' ? 60_000 : everyN ? Number(everyN[1]) * 60_000 : 60_000
  return { cron, intervalMs }
}

const OFFLINE_ENV = {
  WRANGLER_SEND_METRICS: 'false',
  WRANGLER_SEND_ERROR_REPORTS: 'false',
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_HIDE_BANNER: 'true',
}

export const startFunctions = async (opts: {
  root: string
  port: number
  vars: Record<string, string>
  envFile: string
  persistDir: string
  logFile: string
  cronIntervalMs?: number
  onCronError?: (message: string) => void
}): Promise<RunningFunctions> => {
  writeFileSync(opts.envFile, toEnvFile(opts.vars), { mode: 0o600 })
  // the runtime's inspector (for DevTools) only when asked for: the CLI always opens it and wrangler
  // has it report every outbound fetch, which doubles the latency of a request that calls the database
  const inspectorPort = Number(process.env.FUNCTIONS_INSPECTOR_PORT) || undefined
  const proc = launch({
    name: 'functions',
    ...(inspectorPort
      ? {
          command: join(opts.root, 'node_modules/.bin/wrangler'),
          args: [
            'dev',
            '--ip',
            '127.0.0.1',
            '--port',
            String(opts.port),
            '--inspector-port',
            String(inspectorPort),
            '--env-file',
            opts.envFile,
            '--persist-to',
            opts.persistDir,
            '--test-scheduled',
            '--show-interactive-dev-session=false',
          ],
        }
      : {
          command: process.execPath,
          args: [
            join(opts.root, 'scripts/lib/stack/wrangler-dev.mjs'),
            JSON.stringify({
              ip: '127.0.0.1',
              port: opts.port,
              envFile: opts.envFile,
              persistTo: opts.persistDir,
            }),
          ],
        }),
    cwd: opts.root,
    env: { ...process.env, ...OFFLINE_ENV, FORCE_COLOR: '0', NO_COLOR: '1' },
    logFile: opts.logFile,
  })
  const url = `http://127.0.0.1:${opts.port}`
  const ready = await waitForHttpOk(`${url}/health`, { timeoutMs: 90_000, alive: proc.running })
  if (!ready.ok) {
    const why = proc.running()
      ? `/health did not answer 200 within 90 s (last: ${ready.last})`
      : proc.exitDescription()
    await proc.stop()
    throw new Error(`wrangler dev ${why}\n${proc.tail()}`)
  }

  // wrangler dev does not run Cron Triggers by itself; --test-scheduled lets us fire them
  const schedule = cronSchedule(opts.root)
  let timer: NodeJS.Timeout | undefined
  if (schedule) {
    const fire = async () => {
      try {
        const res = await fetch(`${url}/__scheduled?cron=${encodeURIComponent(schedule.cron)}`, {
          signal: AbortSignal.timeout(30_000),
        })
        await res.body?.cancel()
        if (!res.ok) opts.onCronError?.(`scheduled run answered HTTP ${res.status}`)
      } catch (err) {
        if (proc.running()) opts.onCronError?.(`scheduled run failed: ${(err as Error).message}`)
      }
    }
    timer = setInterval(fire, opts.cronIntervalMs ?? schedule.intervalMs)
    timer.unref()
  }
  return { url, process: proc, stopCron: () => clearInterval(timer) }
}
