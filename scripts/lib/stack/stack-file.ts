import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'

/** `.local/stack.json`: where the running local stack is and how to talk to it. */
export interface StackFile {
  nats_url?: string
  database_url?: string
  bridge_url?: string
  functions_url?: string
  tokens?: Record<string, string>
  webhook_secrets?: Record<string, string>
  /** Extra details for tools: the relay in front of Postgres, the NATS monitoring endpoint. */
  pg_ws_proxy?: string
  nats_monitor_url?: string
  /** Pid of the `npm start` process that wrote the file. */
  pid?: number
  started_at?: string
}

const KEY_ORDER: (keyof StackFile)[] = [
  'nats_url',
  'database_url',
  'bridge_url',
  'functions_url',
  'tokens',
  'webhook_secrets',
  'pg_ws_proxy',
  'nats_monitor_url',
  'pid',
  'started_at',
]

export const writeStackFile = (path: string, stack: StackFile) => {
  const ordered = Object.fromEntries(
    KEY_ORDER.filter((k) => stack[k] !== undefined).map((k) => [k, stack[k]]),
  )
  const tmp = `${path}.${process.pid}.tmp`
  writeFileSync(tmp, `${JSON.stringify(ordered, null, 2)}\n`, { mode: 0o600 })
  renameSync(tmp, path)
}

export const removeStackFile = (path: string) => rmSync(path, { force: true })

export const readStackFile = (path: string): StackFile => {
  if (!existsSync(path)) {
    throw new Error(
      `${path} does not exist: start the local stack with \`npm start\` (or pass the URLs as flags)`,
    )
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as StackFile
  } catch (err) {
    throw new Error(`${path} is not valid JSON: ${(err as Error).message}`)
  }
}
