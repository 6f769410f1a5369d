import { dim, red, yellow } from './ansi'

const SKIP = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname'])

/** Turns a JSON log line (pino, the swap executor) into `level msg key=value …`; other lines pass unchanged. */
export const formatLogLine = (line: string): string => {
  if (!line.startsWith('{')) return line
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line
  }
  if (typeof entry.msg !== 'string') return line
  const level = typeof entry.level === 'string' ? entry.level : 'info'
  const fields = Object.entries(entry)
    .filter(([key]) => !SKIP.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ')
  const head =
    level === 'error' || level === 'fatal' ? red(level) : level === 'warn' ? yellow(level) : dim(level)
  return `${head} ${entry.msg}${fields ? ` ${dim(fields)}` : ''}`
}
