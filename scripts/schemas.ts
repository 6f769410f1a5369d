/**
 * Writes JSON Schema (draft 2020-12) for the wire contract into `schemas/`, for services that do
 * not run our TypeScript (the Python services validate with `jsonschema`). `npm run schemas`.
 */
import { readFileSync } from 'node:fs'
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { toJsonSchema } from '@valibot/to-json-schema'
import type * as v from 'valibot'
import { EVENT_TYPES } from '../shared/event-types'
import { EVENT_SCHEMAS, LibraryEvent } from '../shared/events'
import { SwapCommand, SwapRequest, SwapResponse, SwapValidationReply } from '../shared/swap'
import { asyncApiDocument } from './asyncapi'

export const SCHEMAS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'schemas')

const README = `# JSON Schema for the library wire contract

Generated from \`shared/\` by \`npm run schemas\`; do not edit by hand (a test fails when these files drift).
Python: \`jsonschema.validate(event, json.load(open("schemas/events/entity.registered.json")), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)\`
— or \`schemas/library-event.json\` for any event, and \`schemas/swap/*.json\` for the request/reply bodies.

\`asyncapi.json\` is the AsyncAPI 3.0 document of the NATS surface: a channel per event subject (headers
included) in the \`LIBRARY_EVENTS\` stream, the \`library.swap.command\` and \`library.swap.validate\`
request/reply operations, and the webhook subscriptions' dead-letter subjects. The bridge serves it at
\`/asyncapi.json\`, with a readable reference at \`/asyncapi\`.
`

const convert = (title: string, schema: v.GenericSchema): string => {
  // Checks JSON Schema cannot express (e.g. that a date-time is a real date) are left out, not fatal.
  // typeMode 'input' would stop at the array guard in front of each object schema and emit `{}`.
  const json = toJsonSchema(schema, { target: 'draft-2020-12', typeMode: 'ignore', errorMode: 'ignore' })
  const { $schema, ...rest } = json
  return `${JSON.stringify({ $schema, title, ...rest }, null, 2)}\n`
}

const packageVersion = (): string =>
  JSON.parse(readFileSync(join(SCHEMAS_DIR, '..', 'package.json'), 'utf8')).version

/** Every file under `schemas/`, keyed by its path relative to that folder. */
export const generateSchemas = (): Map<string, string> => {
  const files = new Map<string, string>()
  for (const type of EVENT_TYPES) files.set(`events/${type}.json`, convert(type, EVENT_SCHEMAS[type]))
  files.set('library-event.json', convert('LibraryEvent', LibraryEvent))
  files.set('swap/swap-request.json', convert('SwapRequest', SwapRequest))
  files.set('swap/swap-response.json', convert('SwapResponse', SwapResponse))
  files.set('swap/swap-command.json', convert('SwapCommand', SwapCommand))
  files.set('swap/swap-validation-reply.json', convert('SwapValidationReply', SwapValidationReply))
  files.set('asyncapi.json', `${JSON.stringify(asyncApiDocument(packageVersion()), null, 2)}\n`)
  files.set('README.md', README)
  return files
}

/** Paths of the files currently under `dir`, relative to it, with `/` separators. */
export const listFiles = async (dir: string, prefix = ''): Promise<string[]> => {
  const entries = await readdir(join(dir, prefix), { withFileTypes: true }).catch((error) => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw error
  })
  const files: string[] = []
  for (const entry of entries) {
    const path = prefix ? `${prefix}/${entry.name}` : entry.name
    if (entry.isDirectory()) files.push(...(await listFiles(dir, path)))
    else if (entry.isFile()) files.push(path)
  }
  return files.sort()
}

const main = async () => {
  const files = generateSchemas()
  for (const stale of await listFiles(SCHEMAS_DIR)) {
    if (!files.has(stale)) await rm(join(SCHEMAS_DIR, stale))
  }
  for (const [path, content] of files) {
    const target = join(SCHEMAS_DIR, path)
    await mkdir(dirname(target), { recursive: true })
    await writeFile(target, content)
  }
  console.log(`wrote ${files.size} files to ${relative(process.cwd(), SCHEMAS_DIR) || '.'}`)
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main()
