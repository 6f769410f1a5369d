export interface SseConfig {
  /** Interval of the `: heartbeat` comment that keeps proxies from closing an idle stream. */
  heartbeatMs: number
  /** Reconnection delay suggested to clients with the `retry:` field. */
  retryMs: number
  /** Open streams across all clients; one more is answered with 503. */
  maxClients: number
  /** Bytes a client may leave unread before it is cut. */
  clientBufferBytes: number
  /** How long a cut client gets to read its final error event before the socket is destroyed. */
  cutGraceMs: number
}
