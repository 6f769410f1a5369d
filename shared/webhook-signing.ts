/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing and verification on Web Crypto,
 * so the same code runs in Workers and Node.
 */

const SECRET_PREFIX = 'whsec_'
const SECRET_BYTES = 32
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
export const DEFAULT_TOLERANCE_SECONDS = 300

export const WEBHOOK_ID_HEADER = 'webhook-id'
export const WEBHOOK_TIMESTAMP_HEADER = 'webhook-timestamp'
export const WEBHOOK_SIGNATURE_HEADER = 'webhook-signature'

/** A type alias, not an interface, so it can be passed where a header record is expected. */
export type WebhookHeaders = {
  'webhook-id': string
  'webhook-timestamp': string
  'webhook-signature': string
}

export type WebhookFailureReason =
  | 'missing_header'
  | 'bad_signature'
  | 'stale_timestamp'
  | 'future_timestamp'
  | 'bad_timestamp'

export type WebhookVerification =
  | { ok: true; id: string; timestamp: number }
  | { ok: false; reason: WebhookFailureReason; message: string }

const encoder = new TextEncoder()

const toBase64 = (bytes: Uint8Array): string => {
  let binary = ''
  for (const byte of bytes) binary += String.fromCharCode(byte)
  return btoa(binary)
}

const fromBase64 = (text: string): Uint8Array | undefined => {
  if (!BASE64.test(text)) return undefined
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}

/** Accepts `whsec_<base64>` or the bare base64, as the reference libraries do. */
const secretKey = (secret: string): Uint8Array => {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  const key = fromBase64(encoded)
  if (!key || key.length === 0) throw new TypeError('webhook secret must be whsec_ followed by base64')
  return key
}

/** Imported keys by secret: a delivery then costs one crypto call instead of two. */
type SigningKey = ReturnType<typeof crypto.subtle.importKey>
const keys = new Map<string, SigningKey>()
const MAX_KEYS = 256

const signingKey = (secret: string): SigningKey => {
  let key = keys.get(secret)
  if (!key) {
    const raw = secretKey(secret)
    if (keys.size >= MAX_KEYS) keys.clear()
    key = crypto.subtle.importKey('raw', raw, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
    keys.set(secret, key)
    key.catch(() => keys.delete(secret))
  }
  return key
}

const hmac = async (secret: string, id: string, timestamp: number, body: string): Promise<Uint8Array> => {
  const key = await signingKey(secret)
  return new Uint8Array(await crypto.subtle.sign('HMAC', key, encoder.encode(`${id}.${timestamp}.${body}`)))
}

const timingSafeEqual = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!
  return diff === 0
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000)

export const generateWebhookSecret = (): string =>
  SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)))

export const signWebhook = async ({
  secret,
  id,
  timestamp,
  body,
}: {
  secret: string
  id: string
  timestamp: number
  body: string
}): Promise<string> => `v1,${toBase64(await hmac(secret, id, timestamp, body))}`

export const webhookHeaders = async ({
  secret,
  id,
  timestamp = nowSeconds(),
  body,
}: {
  secret: string
  id: string
  timestamp?: number
  body: string
}): Promise<WebhookHeaders> => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': await signWebhook({ secret, id, timestamp, body }),
})

const headerReader = (
  headers: Headers | Record<string, string | undefined>,
): ((name: string) => string | undefined) => {
  if (typeof Headers !== 'undefined' && headers instanceof Headers)
    return (name) => headers.get(name) ?? undefined
  const lowered = new Map<string, string | undefined>()
  for (const [key, value] of Object.entries(headers)) lowered.set(key.toLowerCase(), value)
  return (name) => lowered.get(name)
}

const fail = (reason: WebhookFailureReason, message: string): WebhookVerification => ({
  ok: false,
  reason,
  message,
})

/**
 * Verifies a delivery against any of `secrets` (several during a rotation). The signature header
 * may carry several space-separated `v1,<base64>` entries; one match is enough.
 */
export const verifyWebhook = async ({
  secrets,
  headers,
  body,
  toleranceSeconds = DEFAULT_TOLERANCE_SECONDS,
  now = nowSeconds(),
}: {
  secrets: readonly string[]
  headers: Headers | Record<string, string | undefined>
  body: string
  toleranceSeconds?: number
  now?: number
}): Promise<WebhookVerification> => {
  const header = headerReader(headers)
  const id = header(WEBHOOK_ID_HEADER)
  const timestampText = header(WEBHOOK_TIMESTAMP_HEADER)
  const signatures = header(WEBHOOK_SIGNATURE_HEADER)
  if (!id) return fail('missing_header', `the ${WEBHOOK_ID_HEADER} header is missing`)
  if (!timestampText) return fail('missing_header', `the ${WEBHOOK_TIMESTAMP_HEADER} header is missing`)
  if (!signatures) return fail('missing_header', `the ${WEBHOOK_SIGNATURE_HEADER} header is missing`)

  if (!/^\d{1,15}$/.test(timestampText))
    return fail('bad_timestamp', 'webhook-timestamp must be whole seconds since the epoch')
  const timestamp = Number(timestampText)
  if (now - timestamp > toleranceSeconds)
    return fail('stale_timestamp', `webhook-timestamp is more than ${toleranceSeconds} s old`)
  if (timestamp - now > toleranceSeconds)
    return fail('future_timestamp', `webhook-timestamp is more than ${toleranceSeconds} s in the future`)

  const candidates: Uint8Array[] = []
  for (const entry of signatures.split(' ')) {
    const comma = entry.indexOf(',')
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue
    const bytes = fromBase64(entry.slice(comma + 1))
    if (bytes) candidates.push(bytes)
  }
  if (candidates.length > 0) {
    for (const secret of secrets) {
      const expected = await hmac(secret, id, timestamp, body)
      if (candidates.some((candidate) => timingSafeEqual(candidate, expected)))
        return { ok: true, id, timestamp }
    }
  }
  return fail('bad_signature', 'no webhook-signature entry matches')
}
