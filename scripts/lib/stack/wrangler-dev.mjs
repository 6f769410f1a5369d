// `wrangler dev` for the local stack, through wrangler's own API so that the runtime's inspector is
// left off (`FUNCTIONS_INSPECTOR_PORT` runs the CLI instead): the CLI always opens it, and wrangler
// then enables the Network domain on it, so workerd reports every outbound fetch (each SQL call,
// each bridge call) to the inspector.
// Measured at c=1: GET of an entity 8–14 ms with it, 4.6–5.5 ms without.
//
//   node scripts/lib/stack/wrangler-dev.mjs '<json>'
//   {"ip", "port", "envFile", "persistTo"}
import { unstable_startWorker } from 'wrangler'

const options = JSON.parse(process.argv[2] ?? '{}')

const worker = await unstable_startWorker({
  config: 'wrangler.toml',
  envFiles: [options.envFile],
  dev: {
    server: { hostname: options.ip, port: options.port },
    inspector: false,
    persist: options.persistTo,
    testScheduled: true,
    watch: false,
    liveReload: false,
  },
})
await worker.ready

let stopping = false
const stop = async () => {
  if (stopping) return
  stopping = true
  setTimeout(() => process.exit(1), 5_000).unref()
  await worker.dispose().catch(() => {})
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
