import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { stopGroup } from './managed-process'

/**
 * Remembers the process groups of the current run in a file, so a run that was killed without a
 * chance to clean up (SIGKILL, a closed terminal) has its children stopped by the next `npm start`.
 * The kernel start time guards against a recycled pid.
 */

interface Entry {
  name: string
  pid: number
  startTime: string
  signal?: NodeJS.Signals
  target?: 'group' | 'leader'
}

const startTimeOf = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // fields after the command name (which may contain spaces) start at ')'; starttime is field 22
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]
  } catch {
    return undefined
  }
}

export class PidRegistry {
  private entries: Entry[] = []

  constructor(private readonly file: string) {}

  add(name: string, pid: number, stop: { signal?: NodeJS.Signals; target?: 'group' | 'leader' } = {}) {
    const startTime = startTimeOf(pid)
    if (startTime === undefined) return
    this.entries.push({ name, pid, startTime, ...stop })
    this.save()
  }

  remove(pid: number) {
    this.entries = this.entries.filter((e) => e.pid !== pid)
    this.save()
  }

  clear() {
    this.entries = []
    rmSync(this.file, { force: true })
  }

  /** Stops what a previous run left behind; returns the names of what it stopped. */
  async stopLeftovers(): Promise<string[]> {
    if (!existsSync(this.file)) return []
    let previous: Entry[] = []
    try {
      previous = JSON.parse(readFileSync(this.file, 'utf8')) as Entry[]
    } catch {
      // unreadable: nothing we can safely act on
    }
    const stopped: string[] = []
    for (const entry of previous.reverse()) {
      if (startTimeOf(entry.pid) !== entry.startTime) continue
      await stopGroup(entry.pid, { signal: entry.signal, target: entry.target, timeoutMs: 5_000 })
      stopped.push(`${entry.name} (pid ${entry.pid})`)
    }
    rmSync(this.file, { force: true })
    return stopped
  }

  private save() {
    writeFileSync(this.file, `${JSON.stringify(this.entries, null, 2)}\n`)
  }
}
