import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { cronSchedule, type RunningFunctions, startFunctions } from '../../scripts/lib/stack/functions'
import { freePort as getFreePort } from '../../scripts/lib/stack/ports'

const ROOT = join(import.meta.dirname, '../..')

export interface FunctionsUnderWrangler {
  url: string
  process: RunningFunctions['process']
  /** Runs the Cron Trigger once (the outbox drain among its steps); resolves with the HTTP status. */
  runScheduled(): Promise<number>
  stop(): Promise<void>
}

/**
 * The functions under `wrangler dev` with `vars` as their bindings, in a temporary directory of
 * their own. The Cron Trigger fires only when the test calls `runScheduled`.
 */
export const startFunctionsUnderWrangler = async (
  vars: Record<string, string>,
  options: { port?: number } = {},
): Promise<FunctionsUnderWrangler> => {
  const workDir = await mkdtemp(join(tmpdir(), 'functions-'))
  let functions: RunningFunctions
  try {
    functions = await startFunctions({
      root: ROOT,
      port: options.port ?? (await getFreePort()),
      vars,
      envFile: join(workDir, 'functions.env'),
      persistDir: join(workDir, 'wrangler'),
      logFile: join(workDir, 'functions.log'),
      cronIntervalMs: 3_600_000,
    })
  } catch (err) {
    await rm(workDir, { recursive: true, force: true })
    throw err
  }
  functions.stopCron()
  const cron = cronSchedule(ROOT)?.cron ?? '* * * * *'
  return {
    url: functions.url,
    process: functions.process,
    runScheduled: async () => {
      const res = await fetch(`${functions.url}/__scheduled?cron=${encodeURIComponent(cron)}`, {
        signal: AbortSignal.timeout(60_000),
      })
      await res.arrayBuffer()
      return res.status
    },
    stop: async () => {
      await functions.process.stop()
      await rm(workDir, { recursive: true, force: true })
    },
  }
}
