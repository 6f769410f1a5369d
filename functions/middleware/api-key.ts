import type { MiddlewareHandler } from 'hono'
import { HttpError } from '../../shared/http-error'
import type { ApiKeyEntry, HonoEnv, Scope } from '../env'

const hexToBytes = (hex: string): Uint8Array => {
  const bytes = new Uint8Array(hex.length / 2)
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return bytes
}

const digestCache = new WeakMap<readonly ApiKeyEntry[], Uint8Array[]>()

/**
 * Compares the SHA-256 of the presented key with every stored digest in constant time, visiting
 * all of them whatever matches, so timing says nothing about which key (if any) matched.
 */
const findKey = async (keys: readonly ApiKeyEntry[], presented: string): Promise<ApiKeyEntry | undefined> => {
  let digests = digestCache.get(keys)
  if (!digests) {
    digests = keys.map((k) => hexToBytes(k.sha256))
    digestCache.set(keys, digests)
  }
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(presented)))
  let found: ApiKeyEntry | undefined
  digests.forEach((stored, i) => {
    if (crypto.subtle.timingSafeEqual(stored, digest) && found === undefined) found = keys[i]
  })
  return found
}

const unauthorized = (message: string) =>
  new HttpError(401, 'unauthorized', message, undefined, { 'WWW-Authenticate': 'Bearer realm="library"' })

const BEARER = /^Bearer ([\x21-\x7e]{1,512})$/

/** The API key an Authorization header carries, if it is a known one. */
export const presentedKey = async (
  keys: readonly ApiKeyEntry[],
  header: string | undefined,
): Promise<ApiKeyEntry | undefined> => {
  const match = header === undefined ? null : BEARER.exec(header.trim())
  return match ? findKey(keys, match[1]!) : undefined
}

/** Safe methods need `read`, everything else `write`. The key's name becomes the actor. */
export const requireApiKey = (): MiddlewareHandler<HonoEnv> =>
  async function requireApiKey(c, next) {
    const header = c.req.header('authorization')
    const match = header === undefined ? null : BEARER.exec(header.trim())
    if (!match)
      throw unauthorized(header === undefined ? 'An API key is required' : 'Malformed Authorization header')
    const key = await findKey(c.var.config.API_KEYS, match[1]!)
    if (!key) throw unauthorized('Unknown API key')
    const needed: Scope = c.req.method === 'GET' || c.req.method === 'HEAD' ? 'read' : 'write'
    if (!key.scopes.includes(needed)) {
      throw new HttpError(403, 'forbidden', `This API key lacks the '${needed}' scope`, {
        required_scope: needed,
      })
    }
    c.set('actor', key.name)
    await next()
  }
