// Values test/functions/global-setup.ts hands to the workers project (`inject('databaseUrl')`).
declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string
    databaseUrl: string
    relayUrl: string
    pgWsProxy: string
    bridgeUrl: string
    /** Bridge token the functions use (BRIDGE_TOKEN). */
    bridgeToken: string
    /** Bridge token allowed everything; tests read the stream with it. */
    bridgeAdminToken: string
  }
}

export {}
