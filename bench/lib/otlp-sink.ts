import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface OtlpSink {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT. */
  endpoint: string
  /** Export requests received (their spans are read and dropped). */
  readonly exports: number
  close(): Promise<void>
}

/** An OTLP/HTTP endpoint that accepts every export and keeps nothing, as a collector that keeps up. */
export const startOtlpSink = async (): Promise<OtlpSink> => {
  let exports = 0
  const server = createServer((req, res) => {
    req.resume()
    req.on('end', () => {
      exports++
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get exports() {
      return exports
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
