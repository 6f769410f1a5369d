type Fields = Record<string, unknown>
type Level = 'debug' | 'info' | 'warn' | 'error'

const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

const isLevel = (value: unknown): value is Level => typeof value === 'string' && Object.hasOwn(RANK, value)

// The LOG_LEVEL var (wrangler.toml) is read once, on the first line written, from process.env:
// nodejs_compat fills it with the Worker's vars, and Node (tests and scripts load these modules
// too) has it without cloudflare:workers. An unknown value logs from info up and says so once.
let threshold: number | undefined
const minimumRank = (): number => {
  if (threshold !== undefined) return threshold
  const configured: unknown = (globalThis as { process?: { env?: Record<string, unknown> } }).process?.env
    ?.LOG_LEVEL
  const level = typeof configured === 'string' ? configured.trim().toLowerCase() : undefined
  threshold = RANK[isLevel(level) ? level : 'info']
  if (configured !== undefined && !isLevel(level))
    write('warn', 'LOG_LEVEL is not one of debug, info, warn, error: logging from info up', {
      log_level: String(configured),
    })
  return threshold
}

const write = (level: Level, msg: string, fields: Fields = {}) => {
  if (RANK[level] < minimumRank()) return
  const line = JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })
  if (level === 'error') console.error(line)
  else if (level === 'warn') console.warn(line)
  else console.log(line)
}

export const log = {
  debug: (msg: string, fields?: Fields) => write('debug', msg, fields),
  info: (msg: string, fields?: Fields) => write('info', msg, fields),
  warn: (msg: string, fields?: Fields) => write('warn', msg, fields),
  error: (msg: string, fields?: Fields) => write('error', msg, fields),
}
