// Preloaded into a bridge process (NODE_OPTIONS=--import): on exit it writes how many modules of
// the OpenTelemetry SDK (the packages load as CommonJS, so they are in require.cache) it loaded.
// The API does not count: prom-client loads it for exemplars whatever the bridge does.
import { writeSync } from 'node:fs'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
process.on('exit', () => {
  const loaded = Object.keys(require.cache).filter(
    (path) => path.includes('/@opentelemetry/') && !path.includes('/@opentelemetry/api/'),
  )
  writeSync(2, `${JSON.stringify({ msg: 'opentelemetry sdk modules loaded', count: loaded.length })}\n`)
})
