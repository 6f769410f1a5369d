import { type ParseArgsConfig, parseArgs } from 'node:util'

/** `parseArgs` that answers a bad flag with the message and the usage instead of a stack trace. */
export const parseCli = <T extends ParseArgsConfig>(config: T, usage: string) => {
  try {
    return parseArgs(config)
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage}`)
    process.exit(2)
  }
}
