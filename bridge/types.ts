import type { Logger } from 'pino'
import type { Principal } from './auth/tokens'

export interface BridgeEnv {
  Variables: {
    requestId: string
    logger: Logger
    principal: Principal
  }
}
