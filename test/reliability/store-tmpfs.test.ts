import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { connect, type NatsConnection } from 'nats'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { LibraryEvent } from '../../shared/events'
import { healthDegraded, postEvents } from '../bridge/support/bridge-client'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'
import { report, tally } from './support/report'
import { streamEvents } from './support/stream'

/** The JetStream store: nats-server takes about 3/4 of it as its file storage limit. */
const TMPFS_SIZE = '8m'
const FILLER_BYTES = 4_000

let mountDir: string | undefined
let mounted = false
let skipReason: string | undefined
let nats: NatsServerHandle | undefined
let bridge: BridgeProcess | undefined
let nc: NatsConnection | undefined

beforeAll(async () => {
  if (process.getuid?.() !== 0) {
    skipReason = 'not root: cannot mount a tmpfs for the JetStream store'
    return
  }
  mountDir = mkdtempSync(join(tmpdir(), 'js-tmpfs-'))
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountDir], {
    encoding: 'utf8',
  })
  if (mount.status !== 0) {
    skipReason = `mount -t tmpfs failed: ${(mount.stderr || mount.error?.message || '').trim()}`
    return
  }
  mounted = true
  // the last -sd wins: the store lives on the small tmpfs
  nats = await startNatsServer({ args: ['-sd', mountDir] })
  bridge = await startBridgeProcess({ natsUrl: nats.url, waitFor: 'ready' })
  nc = await connect({ servers: nats.url, name: 'store-tmpfs-filler' })
}, 60_000)

afterAll(async () => {
  await nc?.close()
  await bridge?.stop()
  await nats?.cleanup()
  if (mounted && mountDir) spawnSync('umount', [mountDir])
  if (mountDir) rmSync(mountDir, { recursive: true, force: true })
})

describe('JetStream store directory out of space (small tmpfs)', () => {
  it('publishes are refused with stream_full, nothing acked is lost, retries go through once space is freed', async ({
    skip,
  }) => {
    if (skipReason || !nc || !bridge || !nats) {
      console.log(`[reliability] store out of space skipped: ${skipReason}`)
      skip()
      return
    }
    const jsm = await nc.jetstreamManager()
    const js = nc.jetstream()
    // another stream takes the disk
    await jsm.streams.add({ name: 'FILLER', subjects: ['filler.>'] })
    const filler = new Uint8Array(FILLER_BYTES)
    let fillerMessages = 0
    for (;;) {
      try {
        await js.publish('filler.x', filler, { timeout: 5_000 })
        fillerMessages++
      } catch {
        break
      }
    }

    const acked: string[] = []
    const refused: LibraryEvent[] = []
    const codes = new Map<string, number>()
    let retryAfter: string | null = null
    let sent = 0
    for (let i = 0; i < 20; i++) {
      const events = Array.from({ length: 5 }, () => healthDegraded())
      sent += events.length
      const res = await postEvents(bridge.url, { events })
      const body = (await res.json()) as {
        results?: Array<{ event_id: string }>
        error?: { code: string; details?: { results: Array<{ event_id: string; seq?: number }> } }
      }
      if (res.status === 202) {
        acked.push(...(body.results ?? []).map((r) => r.event_id))
        continue
      }
      codes.set(
        `${res.status}:${body.error?.code}`,
        (codes.get(`${res.status}:${body.error?.code}`) ?? 0) + 1,
      )
      retryAfter = res.headers.get('retry-after')
      const results = body.error?.details?.results ?? []
      for (const e of events) {
        const r = results.find((x) => x.event_id === e.event_id)
        if (r?.seq !== undefined) acked.push(e.event_id)
        else refused.push(e)
      }
    }

    const freedAt = Date.now()
    await jsm.streams.delete('FILLER')
    // the caller (an outbox) retries what was refused, with the same event ids
    const retry = await postEvents(bridge.url, { events: refused })
    const retried = (await retry.json()) as { results: Array<{ event_id: string }> }
    const recoveryMs = Date.now() - freedAt
    if (retry.status === 202) acked.push(...retried.results.map((r) => r.event_id))

    const stored = (await streamEvents(nats.url)).map((m) => m.msgId)
    const figures = tally(acked, stored)
    report({
      scenario: '14 jetstream store out of space (tmpfs)',
      sent,
      acked: acked.length,
      received: figures.received,
      lost: figures.lost,
      duplicated: figures.duplicated,
      recovery_ms: recoveryMs,
      notes: {
        tmpfs: TMPFS_SIZE,
        filler_messages: fillerMessages,
        refused_before_freeing: refused.length,
        refused: [...codes].map(([k, n]) => `${k}x${n}`).join(',') || 'none',
      },
    })
    expect(refused.length).toBeGreaterThan(0)
    expect([...codes.keys()]).toEqual(['503:stream_full'])
    expect(retryAfter).toMatch(/^\d+$/)
    expect(retry.status).toBe(202)
    expect(figures.missing).toEqual([])
    expect(figures.duplicated).toBe(0)
    expect(figures.received).toBe(sent)
  })
})
