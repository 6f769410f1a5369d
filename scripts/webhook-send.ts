import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import * as v from 'valibot'
import { webhookHeaders } from '../shared/webhook-signing'

/*
 * npm run webhook:send -- <source> <file|-> [--id <webhook-id>] [--url <functions-url>]
 *
 * Signs a Standard Webhooks payload `{type, timestamp, data}` with the source's secret and POSTs it
 * to `<functions_url>/webhooks/<source>`. The URL and secret come from `.local/stack.json`
 * (`functions_url`, `webhook_secrets.<source>`), written by `npm start`; FUNCTIONS_URL and
 * WEBHOOK_SECRET override them. A payload without `timestamp` gets the current time. Pass the same
 * --id twice to watch replay protection answer with the first result.
 */

const STACK_FILE = resolve('.local/stack.json')

const StackFile = v.object({
  functions_url: v.optional(v.string()),
  webhook_secrets: v.optional(v.record(v.string(), v.string()), {}),
})

const usage = () => {
  console.error(
    'usage: npm run webhook:send -- <source> <file|-> [--id <webhook-id>] [--url <functions-url>]',
  )
  process.exit(2)
}

const parseArgs = (argv: string[]) => {
  const positional: string[] = []
  const options: Record<string, string> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === '--id' || arg === '--url') {
      const value = argv[++i]
      if (value === undefined) usage()
      options[arg.slice(2)] = value!
    } else positional.push(arg)
  }
  if (positional.length !== 2) usage()
  return { source: positional[0]!, file: positional[1]!, id: options.id, url: options.url }
}

const readStack = async (): Promise<v.InferOutput<typeof StackFile>> => {
  let text: string
  try {
    text = await readFile(STACK_FILE, 'utf8')
  } catch {
    return { webhook_secrets: {} }
  }
  return v.parse(StackFile, JSON.parse(text))
}

const readStdin = async (): Promise<string> => {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

const main = async () => {
  const args = parseArgs(process.argv.slice(2))
  const stack = await readStack()
  const baseUrl = args.url ?? process.env.FUNCTIONS_URL ?? stack.functions_url
  const secret = process.env.WEBHOOK_SECRET ?? stack.webhook_secrets[args.source]
  if (!baseUrl) throw new Error(`no functions URL: start the stack (npm start) or set FUNCTIONS_URL`)
  if (!secret) {
    throw new Error(`no secret for source "${args.source}" in ${STACK_FILE}: set WEBHOOK_SECRET`)
  }

  const text = args.file === '-' ? await readStdin() : await readFile(args.file, 'utf8')
  const payload: unknown = JSON.parse(text)
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new Error('the payload must be a JSON object {type, timestamp, data}')
  }
  const body = JSON.stringify({ timestamp: new Date().toISOString(), ...payload })
  const id = args.id ?? `msg_${crypto.randomUUID()}`
  const url = new URL(
    `webhooks/${encodeURIComponent(args.source)}`,
    baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`,
  )

  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(await webhookHeaders({ secret, id, body })) },
    body,
  })
  console.log(`${response.status} ${response.statusText}  webhook-id: ${id}`)
  console.log(await response.text())
  if (!response.ok) process.exitCode = 1
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err)
  process.exit(1)
})
