import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'

/**
 * Development credentials, generated on first start and kept in `.data/dev-secrets.json` so URLs
 * and tokens copied into a shell or browser keep working across restarts (`--reset` renews them).
 */
export interface DevSecrets {
  /** Bridge token with every scope. */
  admin: string
  /** Bridge token the functions use. */
  functions: string
  /** Functions API key (read, write). */
  api: string
  /** Bearer token the bridge sends on forwarded requests to the functions. */
  forward: string
  /** Standard Webhooks secret of the `dev` inbound webhook source. */
  webhook_dev: string
}

const token = (prefix: string) => `${prefix}_${randomBytes(24).toString('base64url')}`

const generators: { [K in keyof DevSecrets]: () => string } = {
  admin: () => token('dev_admin'),
  functions: () => token('dev_functions'),
  api: () => token('dev_api'),
  forward: () => token('dev_forward'),
  webhook_dev: () => `whsec_${randomBytes(24).toString('base64')}`,
}

export const loadDevSecrets = (file: string): DevSecrets => {
  let stored: Partial<DevSecrets> = {}
  if (existsSync(file)) {
    try {
      stored = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>
    } catch {
      // regenerate below
    }
  }
  let changed = false
  const secrets = { ...stored } as DevSecrets
  for (const key of Object.keys(generators) as (keyof DevSecrets)[]) {
    if (typeof secrets[key] !== 'string' || secrets[key].length < 16) {
      secrets[key] = generators[key]()
      changed = true
    }
  }
  if (changed) writeFileSync(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 })
  return secrets
}

export const sha256Hex = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex')
