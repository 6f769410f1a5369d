import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

/** Persistent state (Postgres cluster, JetStream store, dev tokens); `--reset` wipes it. */
export const dataDir = (env = process.env) => resolve(ROOT, env.STACK_DATA_DIR || '.data')

/** Per-run state: stack.json, generated env files, logs. */
export const localDir = (env = process.env) => resolve(ROOT, env.STACK_LOCAL_DIR || '.local')

export const stackFilePath = (env = process.env) => resolve(localDir(env), 'stack.json')
