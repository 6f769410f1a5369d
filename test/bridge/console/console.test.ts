import { randomUUID } from 'node:crypto'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeysVar } from '../../../scripts/lib/stack/functions'
import { createEvent } from '../../../shared/events'
import { subjectFor } from '../../../shared/subjects'
import {
  type FunctionsUnderWrangler,
  startFunctionsUnderWrangler,
} from '../../support/functions-under-wrangler'
import { startStackForTests, type TestStack } from '../../support/stack'
import { launchChromium } from './support/chromium'

const ROOT = join(import.meta.dirname, '../../..')
const OUTPUT_DIR = join(ROOT, 'test-output')
const API_KEY = 'console-test-api-key-0123456789'
const WAIT_MS = 30_000

let stack: TestStack
let functions: FunctionsUnderWrangler
let browser: Browser
let page: Page
let nc: NatsConnection

const createEntity = async (name: string) => {
  const res = await fetch(`${functions.url}/api/v1/entities`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name, type: 'strategy', version: '1.0.0', config: { symbols: ['AAPL'] } }),
    signal: AbortSignal.timeout(60_000),
  })
  expect(res.status).toBe(201)
  const body = (await res.json()) as { id: string }
  return body.id
}

const publishDirect = async (entityId: string) => {
  const event = createEvent({
    event_type: 'entity.updated',
    entity_id: entityId,
    data: { changes: { description: { from: '', to: 'changed while the bridge was away' } } },
  })
  await nc.jetstream().publish(subjectFor('entity.updated'), JSON.stringify(event), { msgID: event.event_id })
  return event.event_id
}

const rowFor = (type: string, entityId: string) =>
  page.locator(`tr.event[data-type="${type}"][data-entity="${entityId}"]`)

beforeAll(async () => {
  stack = await startStackForTests({ databasePrefix: 'console' })
  functions = await startFunctionsUnderWrangler({
    DATABASE_URL: stack.databaseUrl,
    PG_WS_PROXY: stack.pgWsProxy,
    BRIDGE_URL: stack.bridgeUrl,
    BRIDGE_TOKEN: stack.bridgeTokens.functions.token,
    API_KEYS: apiKeysVar([{ name: 'console-tests', key: API_KEY }]),
  })
  nc = await connect({ servers: stack.natsUrl })
  browser = await launchChromium()
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } })
  await mkdir(OUTPUT_DIR, { recursive: true })
}, 240_000)

afterAll(async () => {
  await browser?.close()
  await nc?.close()
  await functions?.stop()
  await stack?.cleanup()
}, 60_000)

describe('live event console in Chromium', () => {
  it('shows an entity created through the API, live, with its JSON', async () => {
    await page.goto(`${stack.bridgeUrl}/console#token=${stack.bridgeTokens.admin.token}`)
    // The token moves to localStorage and out of the address bar.
    expect(new URL(page.url()).hash).toBe('')
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: WAIT_MS })
    await page.locator('#nats-state[data-state="connected"]').waitFor({ timeout: WAIT_MS })

    const name = `console-${randomUUID().slice(0, 8)}`
    const id = await createEntity(name)
    const row = rowFor('entity.registered', id)
    await row.waitFor({ timeout: WAIT_MS })
    await expect(row.locator('td').nth(2).textContent()).resolves.toBe('library.entity.registered')
    await expect(row.locator('td').nth(3).textContent()).resolves.toContain(name)

    await row.click()
    const json = await page.locator('tr.json pre').first().textContent()
    expect(JSON.parse(json ?? '')).toMatchObject({
      event_type: 'entity.registered',
      entity_id: id,
      entity_name: name,
    })
    await page.screenshot({ path: join(OUTPUT_DIR, 'console-live.png'), fullPage: true })
  })

  it('filters by type, pauses and resumes without losing events', async () => {
    const id = await createEntity(`console-${randomUUID().slice(0, 8)}`)
    await rowFor('entity.registered', id).waitFor({ timeout: WAIT_MS })

    await page.selectOption('#type-filter', 'entity.updated')
    expect(await rowFor('entity.registered', id).isHidden()).toBe(true)
    await page.selectOption('#type-filter', '')
    expect(await rowFor('entity.registered', id).isVisible()).toBe(true)

    await page.click('#pause')
    await publishDirect(id)
    await page.locator('#counts', { hasText: '(1 held)' }).waitFor({ timeout: WAIT_MS })
    expect(await rowFor('entity.updated', id).count()).toBe(0)
    await page.click('#pause')
    await rowFor('entity.updated', id).waitFor({ timeout: WAIT_MS })
  })

  it('resumes after the bridge goes away with the events published meanwhile, no gap and no repeat', async () => {
    const id = await createEntity(`console-${randomUUID().slice(0, 8)}`)
    await rowFor('entity.registered', id).waitFor({ timeout: WAIT_MS })
    const reconnectsBefore = Number(await page.locator('#reconnects').textContent())

    await stack.bridge.stop()
    await page.locator('#conn-state[data-state="reconnecting"]').waitFor({ timeout: WAIT_MS })
    await page.locator('#nats-state[data-state="unreachable"]').waitFor({ timeout: WAIT_MS })
    const missed = [await publishDirect(id), await publishDirect(id)]

    await stack.bridge.restart()
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: WAIT_MS })
    for (const eventId of missed) {
      await page.locator(`tr.event[data-event-id="${eventId}"]`).waitFor({ timeout: WAIT_MS })
    }
    const shown = await page
      .locator(`tr.event[data-entity="${id}"]`)
      .evaluateAll((rows: Array<{ getAttribute(name: string): string | null }>) =>
        rows.map((row) => row.getAttribute('data-event-id')),
      )
    expect(shown).toHaveLength(3)
    expect(shown.slice(0, 2).reverse()).toEqual(missed)
    expect(Number(await page.locator('#reconnects').textContent())).toBeGreaterThan(reconnectsBefore)
    await page.locator('#nats-state[data-state="connected"]').waitFor({ timeout: WAIT_MS })
    await page.screenshot({ path: join(OUTPUT_DIR, 'console-after-reconnect.png'), fullPage: true })
  })

  it('reconnects with a new subject pattern and shows only what it matches', async () => {
    await page.fill('#pattern', 'library.deployment.>')
    await page.click('#connect')
    await page.locator('#last-id', { hasText: '–' }).waitFor({ timeout: WAIT_MS })
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: WAIT_MS })

    const entityId = randomUUID()
    await publishDirect(entityId)
    const deployment = createEvent({
      event_type: 'deployment.started',
      entity_id: entityId,
      deployment_id: randomUUID(),
      data: { environment: 'paper', version: '1.0.0' },
    })
    await nc.jetstream().publish(subjectFor('deployment.started'), JSON.stringify(deployment), {
      msgID: deployment.event_id,
    })
    await page.locator(`tr.event[data-event-id="${deployment.event_id}"]`).waitFor({ timeout: WAIT_MS })
    expect(await rowFor('entity.updated', entityId).count()).toBe(0)
  })

  it('names the swap or the component of events that are not about an entity', async () => {
    await page.fill('#pattern', 'library.>')
    await page.click('#connect')
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: WAIT_MS })
    const swapId = randomUUID()
    const component = `pricing-feed-${randomUUID().slice(0, 8)}`
    const swap = createEvent({
      event_type: 'swap.initiated',
      swap_id: swapId,
      data: {
        from_entity_id: randomUUID(),
        to_entity_id: randomUUID(),
        reason: 'console test',
        initiated_by: 'console-test',
        validate_only: false,
      },
    })
    const health = createEvent({ event_type: 'health.degraded', data: { component, status: 'degraded' } })
    for (const event of [swap, health]) {
      await nc
        .jetstream()
        .publish(subjectFor(event.event_type), JSON.stringify(event), { msgID: event.event_id })
    }
    const aboutOf = (eventId: string) =>
      page.locator(`tr.event[data-event-id="${eventId}"] td`).nth(3).textContent({ timeout: WAIT_MS })
    expect(await aboutOf(swap.event_id)).toBe(`swap ${swapId}`)
    expect(await aboutOf(health.event_id)).toBe(`component ${component}`)
  })

  it('hints at the stream when the table is empty, and replays it once without repeating a row', async () => {
    const jsm = await nc.jetstreamManager()
    const inStream = (await jsm.streams.info('LIBRARY_EVENTS')).state.messages
    expect(inStream).toBeGreaterThan(0)

    // a fresh page: no rows yet, only new events asked for
    await page.reload()
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: WAIT_MS })
    expect(await page.locator('#from').inputValue()).toBe('new')
    expect(await page.locator('tr.event').count()).toBe(0)
    await page
      .locator('#hint:not([hidden])', { hasText: `The stream already holds ${inStream} events` })
      .waitFor({ timeout: WAIT_MS })
    await page.screenshot({ path: join(OUTPUT_DIR, 'console-empty-hint.png') })

    // one live row, then the stream from its start without Clear: every event once
    const id = await createEntity(`console-${randomUUID().slice(0, 8)}`)
    await rowFor('entity.registered', id).waitFor({ timeout: WAIT_MS })
    expect(await page.locator('#hint').isHidden()).toBe(true)
    await page.selectOption('#from', 'start')
    await page.click('#connect')
    const total = inStream + 1
    await page.locator('#counts', { hasText: new RegExp(`^${total} events$`) }).waitFor({ timeout: WAIT_MS })
    const ids = await page
      .locator('tr.event')
      .evaluateAll((rows: Array<{ getAttribute(name: string): string | null }>) =>
        rows.map((row) => row.getAttribute('data-id')),
      )
    expect(ids).toHaveLength(total)
    expect(new Set(ids).size).toBe(total)
    expect(await rowFor('entity.registered', id).count()).toBe(1)

    // the same source again (a reconnect from the start) adds nothing
    await page.click('#connect')
    await page.locator('#conn-state[data-state="live"]').waitFor({ timeout: WAIT_MS })
    // the last event of the stream: every replayed one has been delivered before it
    const last = await publishDirect(id)
    await page.locator(`tr.event[data-event-id="${last}"]`).waitFor({ timeout: WAIT_MS })
    expect(await page.locator('tr.event').count()).toBe(total + 1)
    expect(await page.locator('#counts').textContent()).toBe(`${total + 1} events`)
    await page.screenshot({ path: join(OUTPUT_DIR, 'console-replayed.png'), fullPage: true })
  })
})
