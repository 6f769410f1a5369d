// Values test/functions/global-setup.ts hands to the workers project (`inject('databaseUrl')`).
declare module 'vitest' {
  export interface ProvidedContext {
    natsUrl: string
    databaseUrl: string
    relayUrl: string
    pgWsProxy: string
  }
}

export {}
