import { readFileSync } from 'node:fs'

const CLOCK_TICK_MS = 10

/** CPU time (user + system) of a Linux process in milliseconds. */
export const cpuMs = (pid: number): number => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS
}

const statusKb = (pid: number, key: string): number => {
  const match = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match ? Number(match[1]) : 0
}

export const rssMb = (pid: number) => statusKb(pid, 'VmRSS') / 1024
/** Peak resident set size since the process started. */
export const peakRssMb = (pid: number) => statusKb(pid, 'VmHWM') / 1024

/** Bridge CPU spent while `work` runs, per 1,000 of the operations it reports. */
export const withCpu = async <T extends { count: number }>(
  pid: number | undefined,
  work: () => Promise<T>,
): Promise<T & { cpuMsPer1k?: number; rssMb?: number }> => {
  if (pid === undefined) return work()
  const before = cpuMs(pid)
  const result = await work()
  const spent = cpuMs(pid) - before
  return {
    ...result,
    cpuMsPer1k: result.count > 0 ? (spent / result.count) * 1000 : undefined,
    rssMb: rssMb(pid),
  }
}
