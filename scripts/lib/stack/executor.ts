import { setTimeout as sleep } from 'node:timers/promises'
import { launch, type ManagedProcess } from './managed-process'

export const EXECUTOR_ENTRY = 'examples/swap-executor.ts'

export const startExecutor = async (opts: {
  root: string
  natsUrl: string
  logFile: string
}): Promise<ManagedProcess> => {
  const proc = launch({
    name: 'swap-executor',
    command: process.execPath,
    args: ['--import', 'tsx', EXECUTOR_ENTRY],
    cwd: opts.root,
    env: { ...process.env, NATS_URL: opts.natsUrl },
    logFile: opts.logFile,
  })
  // it has no HTTP surface to probe: give it a moment to fail on bad config or a refused connection
  await sleep(1_500)
  if (!proc.running()) throw new Error(`swap executor ${proc.exitDescription()}\n${proc.tail()}`)
  return proc
}
