import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asyncApiRoutes } from '../../../bridge/asyncapi/routes'
import document from '../../../schemas/asyncapi.json' with { type: 'json' }
import { launchChromium } from './support/chromium'

let server: ReturnType<typeof serve>
let base: string
let browser: Browser

beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: asyncApiRoutes().fetch, hostname: '127.0.0.1', port: 0 }, () => resolve())
  })
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  browser = await launchChromium()
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await new Promise((resolve) => server?.close(resolve))
})

describe('AsyncAPI reference page', () => {
  it('renders every channel with its messages, without a script error', async () => {
    const page = await browser.newPage()
    const errors: string[] = []
    page.on('pageerror', (err) => errors.push(err.message))
    // failed loads are counted by URL below (Chromium asks for a favicon nobody serves)
    page.on('console', (msg) => {
      if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text())
    })
    page.on('response', (res) => {
      if (res.status() >= 400 && !res.url().endsWith('/favicon.ico'))
        errors.push(`${res.status()} ${res.url()}`)
    })
    await page.goto(`${base}/asyncapi`)
    const channels = Object.keys(document.channels)
    await expect.poll(() => page.locator('section.ch').count()).toBe(channels.length)
    expect(await page.locator('h1').textContent()).toBe(document.info.title)
    const swapCommand = page.locator('#channel-swap\\.command')
    expect(await swapCommand.locator('h3').textContent()).toBe('library.swap.command')
    expect(await swapCommand.textContent()).toContain('Reply on swap.command.reply')
    const registered = page.locator('#channel-entity\\.registered')
    expect(await registered.textContent()).toContain('JetStream stream LIBRARY_EVENTS')
    expect(await registered.locator('td code').allTextContents()).toEqual(
      expect.arrayContaining(['Nats-Msg-Id *', 'Library-Event-Type *', 'traceparent']),
    )
    expect(await page.locator('#toc a').count()).toBe(channels.length)
    expect(errors).toEqual([])
  })
})
