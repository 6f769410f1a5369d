import { createServer } from 'node:net'

/** Asks the kernel for an unused TCP port on 127.0.0.1 and releases it again. */
export const getFreePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('could not determine a free port'))
        return
      }
      server.close(() => resolve(address.port))
    })
  })
