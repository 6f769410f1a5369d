import { type ChildProcess, spawn } from 'node:child_process'
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs'
import { dirname } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export interface LaunchOptions {
  name: string
  command: string
  args: string[]
  cwd: string
  env?: NodeJS.ProcessEnv
  /** Everything the process writes goes here. */
  logFile: string
  uid?: number
  gid?: number
  /**
   * How to ask it to stop. `group` signals the whole process group (wrangler → workerd);
   * `leader` only the process itself (postgres, whose postmaster shuts its backends down).
   */
  stopSignal?: NodeJS.Signals
  stopTarget?: 'group' | 'leader'
  stopTimeoutMs?: number
}

export interface ManagedProcess {
  readonly name: string
  readonly pid: number
  readonly command: string
  /** How `stop()` asks it to stop, for stopping it from another run. */
  readonly stopSignal: NodeJS.Signals
  readonly stopTarget: 'group' | 'leader'
  running(): boolean
  exitDescription(): string
  /** The last lines it wrote, for error messages. */
  tail(lines?: number): string
  /** Copy new output to `out`, each line prefixed (and reshaped by `format`). */
  echo(prefix: string, format?: (line: string) => string, out?: NodeJS.WriteStream): void
  /** Stops the process and every member of its process group; resolves when none is left. */
  stop(): Promise<void>
}

const TAIL_BYTES = 16_000
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing ANSI escape sequences
const stripAnsi = (text: string) => text.replace(/\x1b\[[0-9;]*m/g, '')

const launched: ManagedProcess[] = []
let onLaunch: ((proc: ManagedProcess) => void) | undefined

/** Everything `launch` started in this process, oldest first (stopped or not). */
export const launchedProcesses = (): readonly ManagedProcess[] => launched

export const setLaunchHook = (hook: (proc: ManagedProcess) => void) => {
  onLaunch = hook
}

const groupAlive = (pgid: number): boolean => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

const signal = (pid: number, sig: NodeJS.Signals | 0) => {
  try {
    process.kill(pid, sig)
  } catch {
    // already gone
  }
}

/** Signals a process group and waits until it is empty, escalating to SIGKILL after `timeoutMs`. */
export const stopGroup = async (
  pgid: number,
  opts: { signal?: NodeJS.Signals; target?: 'group' | 'leader'; timeoutMs?: number } = {},
): Promise<void> => {
  if (!groupAlive(pgid)) return
  signal(opts.target === 'leader' ? pgid : -pgid, opts.signal ?? 'SIGTERM')
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000)
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(50)
  if (!groupAlive(pgid)) return
  signal(-pgid, 'SIGKILL')
  while (groupAlive(pgid)) await sleep(20)
}

/**
 * Spawns a child in its own process group (so Ctrl-C in the terminal reaches only us and we stop
 * the children in order), with its output captured to a log file.
 */
export const launch = (options: LaunchOptions): ManagedProcess => {
  mkdirSync(dirname(options.logFile), { recursive: true })
  const log: WriteStream = createWriteStream(options.logFile, { flags: 'a' })
  log.write(`\n--- ${new Date().toISOString()} ${options.command} ${options.args.join(' ')}\n`)

  const child: ChildProcess = spawn(options.command, options.args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  })
  let spawnError: Error | undefined
  child.once('error', (err) => {
    spawnError = err
  })
  let tail = ''
  let echo: ((chunk: string) => void) | undefined
  let pending = ''
  const onOutput = (chunk: Buffer) => {
    log.write(chunk)
    const text = chunk.toString('utf8')
    tail = (tail + stripAnsi(text)).slice(-TAIL_BYTES)
    echo?.(text)
  }
  child.stdout?.on('data', onOutput)
  child.stderr?.on('data', onOutput)
  child.once('close', () => log.end())

  const running = () => spawnError === undefined && child.exitCode === null && child.signalCode === null
  const pid = child.pid ?? -1

  const managed: ManagedProcess = {
    name: options.name,
    pid,
    command: options.command,
    stopSignal: options.stopSignal ?? 'SIGTERM',
    stopTarget: options.stopTarget ?? 'group',
    running,
    exitDescription: () =>
      spawnError
        ? `could not be started (${spawnError.message})`
        : child.exitCode !== null
          ? `exited with code ${child.exitCode}`
          : child.signalCode !== null
            ? `was killed by ${child.signalCode}`
            : 'is running',
    tail: (lines = 30) =>
      tail
        .split('\n')
        .slice(-lines - 1)
        .join('\n')
        .trimEnd(),
    echo(prefix, format = (line) => line, out = process.stdout) {
      echo = (text) => {
        const parts = (pending + text).split('\n')
        pending = parts.pop() ?? ''
        for (const line of parts) if (line.trim()) out.write(`${prefix} ${format(line)}\n`)
      }
    },
    async stop() {
      echo = undefined
      if (pid < 0) return
      await stopGroup(pid, {
        signal: options.stopSignal,
        target: options.stopTarget,
        timeoutMs: options.stopTimeoutMs,
      })
    },
  }
  launched.push(managed)
  onLaunch?.(managed)
  return managed
}
