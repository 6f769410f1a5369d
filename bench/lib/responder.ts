import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

/** An echo responder in its own process, so it does not share the load generator's event loop. */
export const startResponder = (natsUrl: string, subject: string): Promise<ChildProcess> =>
  new Promise((resolve, reject) => {
    const code = `
      import { connect } from 'nats'
      const nc = await connect({ servers: ${JSON.stringify(natsUrl)} })
      nc.subscribe(${JSON.stringify(subject)}, { callback: (_e, m) => m.respond(m.data) })
      await nc.flush()
      console.log('ready')
    `
    const child = spawn(process.execPath, ['--input-type=module', '-e', code], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout?.once('data', () => resolve(child))
    child.once('exit', (c) => reject(new Error(`responder exited with ${c}`)))
  })
