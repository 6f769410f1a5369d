import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type Diagnostic, DiagnosticSeverity, Parser } from '@asyncapi/parser'
import * as v from 'valibot'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { asyncApiRoutes } from '../../bridge/asyncapi/routes'
import { PAYLOAD_EXAMPLES, SwapValidateRequest } from '../../scripts/asyncapi'
import { generateSchemas, SCHEMAS_DIR } from '../../scripts/schemas'
import { EVENT_TYPES } from '../../shared/event-types'
import { EVENT_SCHEMAS, LibraryEvent } from '../../shared/events'
import {
  STREAM_NAME,
  STREAM_SUBJECTS,
  SWAP_COMMAND_SUBJECT,
  SWAP_VALIDATE_SUBJECT,
} from '../../shared/subjects'
import { SwapCommand, SwapResponse, SwapValidationReply } from '../../shared/swap'
import { type BridgeProcess, startBridgeProcess } from '../support/bridge-process'
import { type NatsServerHandle, startNatsServer } from '../support/nats-server'

// biome-ignore lint/suspicious/noExplicitAny: the test walks a JSON document by its known shape
type Json = Record<string, any>

const committedText = await readFile(join(SCHEMAS_DIR, 'asyncapi.json'), 'utf8')
const doc: Json = JSON.parse(committedText)

/** The valibot schema each message's payload must pass, by message name. */
const PAYLOAD_SCHEMAS: Record<string, v.GenericSchema> = {
  ...EVENT_SCHEMAS,
  SwapCommand,
  SwapResponse,
  SwapValidateRequest,
  SwapValidationReply,
  DeadLetter: LibraryEvent,
}

/** The node a local `$ref` points at, following references to references. */
const local = (ref: string): Json => {
  const node: Json = ref
    .slice(2)
    .split('/')
    .reduce((at: Json, key) => at[key], doc)
  return typeof node.$ref === 'string' ? local(node.$ref) : node
}

describe('AsyncAPI document of the NATS surface', () => {
  it('is what `npm run schemas` writes', () => {
    expect(committedText, 'run npm run schemas and commit schemas/').toBe(
      generateSchemas().get('asyncapi.json'),
    )
  })

  it('passes the official parser with no error and no warning', async () => {
    const { document, diagnostics } = await new Parser().parse(committedText)
    const serious = diagnostics.filter(
      (d: Diagnostic) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
    )
    expect(serious.map((d) => `${d.code} ${d.path.join('.')}: ${d.message}`)).toEqual([])
    expect(document).toBeDefined()
    expect(document!.version()).toBe('3.0.0')
    expect(document!.channels().length).toBe(EVENT_TYPES.length + 5)
  })

  it('has a channel per event subject, in the event stream, with its headers', () => {
    const eventChannels = Object.values(doc.channels as Json).filter(
      (channel) => channel['x-jetstream']?.stream === STREAM_NAME,
    )
    expect(eventChannels.map((channel) => channel.address).sort()).toEqual([...STREAM_SUBJECTS].sort())
    for (const type of EVENT_TYPES) {
      const message = local(doc.channels[type].messages[type].$ref)
      expect(Object.keys(message.headers.properties)).toEqual(
        expect.arrayContaining(['Nats-Msg-Id', 'Library-Event-Type', 'traceparent']),
      )
      expect(message.headers.properties['Library-Event-Type'].const).toBe(type)
      expect(local(message.payload.$ref).properties.event_type.const).toBe(type)
      expect(doc.operations[`send.${type}`].channel.$ref).toBe(`#/channels/${type}`)
    }
  })

  it('describes swap.command and swap.validate as request/reply with both messages', () => {
    const replyOf = (operation: string) => {
      const op = doc.operations[operation]
      return {
        subject: local(op.channel.$ref).address,
        request: local(op.messages[0].$ref).name,
        reply: local(op.reply.messages[0].$ref).name,
        replyHeaders: Object.keys(local(op.reply.messages[0].$ref).headers.properties),
      }
    }
    expect(replyOf('request.swap.command')).toEqual({
      subject: SWAP_COMMAND_SUBJECT,
      request: 'SwapCommand',
      reply: 'SwapResponse',
      replyHeaders: ['Nats-Service-Error', 'Nats-Service-Error-Code'],
    })
    expect(replyOf('reply.swap.validate')).toEqual({
      subject: SWAP_VALIDATE_SUBJECT,
      request: 'SwapValidateRequest',
      reply: 'SwapValidationReply',
      replyHeaders: ['Nats-Service-Error', 'Nats-Service-Error-Code'],
    })
  })

  it('names the dead-letter subjects and headers', () => {
    const channel = doc.channels['dead-letters']
    expect(channel.address).toBe('library_dlq.{subscription}')
    expect(channel['x-jetstream'].stream).toBe('LIBRARY_DLQ')
    const headers = local(channel.messages.DeadLetter.$ref).headers
    expect(headers.required).toEqual(
      expect.arrayContaining(['Library-Original-Subject', 'Library-Last-Error', 'Library-Attempts']),
    )
  })

  it('has examples that the real schemas accept, with Nats-Msg-Id = event_id on events', () => {
    const messages = Object.values(doc.components.messages as Json)
    expect(messages.length).toBe(Object.keys(PAYLOAD_SCHEMAS).length)
    for (const message of messages) {
      const schema = PAYLOAD_SCHEMAS[message.name]
      expect(schema, message.name).toBeDefined()
      expect(message.examples.length, message.name).toBeGreaterThan(0)
      for (const example of message.examples) {
        const parsed = v.safeParse(schema!, example.payload)
        expect(parsed.success ? [] : parsed.issues.map((i) => i.message), message.name).toEqual([])
        // the parser does not check examples against the headers schema: names, required, const, pattern
        const headers = message.headers
        for (const name of headers.required ?? [])
          expect(example.headers ?? {}, message.name).toHaveProperty([name])
        for (const [name, value] of Object.entries((example.headers ?? {}) as Record<string, string>)) {
          const rule = headers.properties[name]
          expect(rule, `${message.name} header ${name}`).toBeDefined()
          if ('const' in rule) expect(value).toBe(rule.const)
          if (rule.pattern) expect(value).toMatch(new RegExp(rule.pattern))
        }
        if (message.name in EVENT_SCHEMAS) {
          expect(example.headers['Nats-Msg-Id']).toBe(example.payload.event_id)
          expect(example.headers['Library-Event-Type']).toBe(message.name)
        }
      }
    }
    // the generator's own list is the same set of checks
    expect(PAYLOAD_EXAMPLES.filter((e) => !v.safeParse(e.schema, e.payload).success)).toEqual([])
  })

  it('an example the schema refuses is caught', () => {
    const broken = { ...doc.components.messages['entity.registered'].examples[0].payload, version: 'one' }
    expect(v.safeParse(EVENT_SCHEMAS['entity.registered'], broken).success).toBe(false)
  })
})

describe('the bridge serves it', () => {
  let nats: NatsServerHandle
  let bridge: BridgeProcess

  beforeAll(async () => {
    nats = await startNatsServer()
    bridge = await startBridgeProcess({ natsUrl: nats.url })
  }, 60_000)

  afterAll(async () => {
    await bridge?.stop()
    await nats?.cleanup()
  })

  it('at GET /asyncapi.json, publicly, the committed document', async () => {
    const res = await fetch(`${bridge.url}/asyncapi.json`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('application/json')
    expect(await res.json()).toEqual(doc)
  })

  it('with a self-contained reference at GET /asyncapi', async () => {
    const res = await fetch(`${bridge.url}/asyncapi`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'")
    const html = await res.text()
    expect(html).toContain('asyncapi.json')
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//)
  })

  it('the route module alone answers the same', async () => {
    expect(await (await asyncApiRoutes().request('/asyncapi.json')).json()).toEqual(doc)
  })
})
