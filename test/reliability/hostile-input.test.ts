import fc from 'fast-check'
import { connect, type NatsConnection, type Subscription } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { subjectMatches } from '../../shared/subject-validation'
import { entityRegistered, healthDegraded, startWiretap } from '../bridge/support/bridge-client'
import { type InProcessBridge, startInProcessBridge } from '../support/in-process-bridge'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { anyText, contentTypes, hostileBody, mutated, noHang } from './support/hostile'
import { report, SOAK, scaled } from './support/report'

const RUNS = scaled(1_000, 10_000)
const TOKEN = 'hostile-narrow-token-0123456789'
const SCOPES = { publish: ['library.entity.*'], request: ['echo.>'], subscribe: ['library.entity.*'] }
/** What may appear on the wire: the token's subjects, reply inboxes and the JetStream API. */
const ALLOWED_ON_WIRE = [...SCOPES.publish, ...SCOPES.request, '_INBOX.>', '$JS.>']

let nats: NatsServerHandle
let bridge: InProcessBridge
let nc: NatsConnection
let wiretap: Awaited<ReturnType<typeof startWiretap>>
let echo: Subscription
const tally = { sent: 0, accepted: 0, acceptedEventIds: [] as string[] }

beforeAll(async () => {
  nats = await startNatsServer()
  bridge = await startInProcessBridge(nats.url, {
    BRIDGE_TOKENS: JSON.stringify({ narrow: { token: TOKEN, ...SCOPES } }),
    BRIDGE_REQUEST_TIMEOUT_MS: '1000',
    BRIDGE_REQUEST_TIMEOUT_MAX_MS: '2000',
  })
  nc = await connect({ servers: nats.url, name: 'hostile-wiretap' })
  echo = nc.subscribe('echo.>', { callback: (_err, msg) => msg.respond(msg.data) })
  wiretap = await startWiretap(nc)
}, 60_000)

afterAll(async () => {
  echo?.unsubscribe()
  await nc?.close()
  await bridge?.stop()
  await nats?.cleanup()
})

const authHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constant(`Bearer ${TOKEN}`) },
  // HTTP clients refuse control characters in a header, so none is sent
  {
    weight: 1,
    arbitrary: anyText.map((t) => `Bearer ${[...t].filter((ch) => ch >= ' ' && ch !== '\x7f').join('')}`),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
)

const headersOf = (auth: string | undefined, contentType: string, extra: Record<string, string> = {}) => {
  const headers = new Headers()
  if (auth !== undefined) {
    try {
      headers.set('authorization', auth)
    } catch {
      // not a valid header value: the request goes without one
    }
  }
  if (contentType) headers.set('content-type', contentType)
  for (const [k, v] of Object.entries(extra)) {
    try {
      headers.set(k, v)
    } catch {
      // idem
    }
  }
  return headers
}

const NEVER = (status: number) => status >= 500

/** Every UTF-8 byte percent-encoded; lone surrogates (which no URL can carry) become U+FFFD. */
const percentEncoded = (text: string | Uint8Array) =>
  Array.from(
    typeof text === 'string' ? new TextEncoder().encode(text) : text,
    (b) => `%${b.toString(16).padStart(2, '0')}`,
  ).join('')

const eventBody = fc.oneof(
  { weight: 3, arbitrary: hostileBody },
  {
    weight: 3,
    arbitrary: mutated(fc.constant(null).map(() => ({ ...entityRegistered() }))).map((e) =>
      JSON.stringify(e),
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.oneof(
          fc.constant(null).map(() => entityRegistered()),
          fc.constant(null).map(() => healthDegraded()),
          mutated(fc.constant(null).map(() => ({ ...entityRegistered() }))),
        ),
        { minLength: 1, maxLength: 8 },
      )
      .map((events) => JSON.stringify({ events })),
  },
  { weight: 1, arbitrary: fc.constant(null).map(() => JSON.stringify(healthDegraded())) },
)

describe('hostile input against the bridge (in process, real NATS, wiretap on >)', {
  timeout: SOAK ? 1_800_000 : 300_000,
}, () => {
  it(`POST /v1/events: ${RUNS} random bodies never get a 5xx or hang`, async () => {
    await fc.assert(
      fc.asyncProperty(eventBody, authHeader, contentTypes, async (body, auth, contentType) => {
        tally.sent++
        const res = await noHang(
          Promise.resolve(
            bridge.app.request('/v1/events', { method: 'POST', headers: headersOf(auth, contentType), body }),
          ),
        )
        const text = await res.text()
        expect(NEVER(res.status), `${res.status} ${text.slice(0, 300)}`).toBe(false)
        if (res.status === 202) {
          tally.accepted++
          const { results } = JSON.parse(text) as { results: Array<{ event_id: string }> }
          tally.acceptedEventIds.push(...results.map((r) => r.event_id))
        } else {
          expect(JSON.parse(text)).toMatchObject({ error: { code: expect.any(String) } })
        }
      }),
      { numRuns: RUNS },
    )
  })

  it(`POST /v1/request/{subject}: ${RUNS} random subjects and bodies never get a 5xx or hang`, async () => {
    const subject = fc.oneof(
      anyText.filter((s) => s.length < 400),
      fc.stringMatching(/^[a-z0-9.*> ]{1,24}$/),
      fc
        .array(fc.stringMatching(/^[a-z0-9_-]{1,8}$/), { minLength: 1, maxLength: 4 })
        .map((t) => `echo.${t.join('.')}`),
    )
    const timeout = fc.option(
      fc.oneof(
        // a valid timeout below the echo's round trip would be an honest 504: keep them out
        anyText.filter((t) => !/^\d{1,9}$/.test(t)),
        fc.oneof(fc.integer({ min: -5, max: 0 }), fc.integer({ min: 1_000, max: 100_000 })).map(String),
      ),
      {
        nil: undefined,
      },
    )
    await fc.assert(
      fc.asyncProperty(subject, hostileBody, authHeader, timeout, async (s, body, auth, t) => {
        tally.sent++
        const extra: Record<string, string> = t === undefined ? {} : { 'x-timeout-ms': t }
        const res = await noHang(
          Promise.resolve(
            bridge.app.request(`/v1/request/${percentEncoded(s)}`, {
              method: 'POST',
              headers: headersOf(auth, 'application/json', extra),
              body,
            }),
          ),
        )
        const text = await res.text()
        expect(NEVER(res.status), `${res.status} ${text.slice(0, 300)}`).toBe(false)
        if (res.status === 200) tally.accepted++
      }),
      { numRuns: RUNS },
    )
  })

  it(`GET /v1/subscribe?subject=…: ${RUNS} random subjects never get a 5xx or hang`, async () => {
    const subject = fc.oneof(
      anyText.filter((s) => s.length < 400),
      fc.stringMatching(/^[a-z0-9.*> ]{1,24}$/),
      fc.constantFrom(
        'library.entity.*',
        'library.entity.registered',
        'library.>',
        '>',
        '$JS.API.>',
        '_INBOX.>',
      ),
    )
    await fc.assert(
      fc.asyncProperty(subject, authHeader, async (s, auth) => {
        tally.sent++
        const controller = new AbortController()
        const res = await noHang(
          fetch(`${bridge.url}/v1/subscribe?subject=${percentEncoded(s)}`, {
            headers: headersOf(auth, ''),
            signal: controller.signal,
          }),
        )
        expect(NEVER(res.status)).toBe(false)
        if (res.status === 200) {
          tally.accepted++
          expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
          controller.abort()
        } else {
          await res.arrayBuffer()
        }
      }),
      { numRuns: RUNS },
    )
  })

  it('the wiretap on > saw nothing outside the subjects the token allows, and every accepted event', async () => {
    await wiretap.stop()
    const subjects = wiretap.subjects()
    const outside = [...new Set(subjects.filter((s) => !ALLOWED_ON_WIRE.some((p) => subjectMatches(p, s))))]
    const seenIds = wiretap.seen
      .filter((m) => subjectMatches('library.entity.*', m.subject))
      .map((m) => m.headers?.get('Nats-Msg-Id') ?? '')
    const seen = new Set(seenIds)
    const lost = tally.acceptedEventIds.filter((id) => !seen.has(id))
    report({
      scenario: '6 hostile input (bridge)',
      sent: tally.sent,
      acked: tally.acceptedEventIds.length,
      received: seen.size,
      lost: lost.length,
      duplicated: seenIds.length - seen.size,
      recovery_ms: null,
      notes: {
        runs_per_property: RUNS,
        properties: 3,
        wire_messages: subjects.length,
        outside_scope: outside.length,
      },
    })
    expect(outside).toEqual([])
    expect(lost).toEqual([])
    expect(tally.acceptedEventIds.length).toBeGreaterThan(0)
  })
})
