export { type ForwardConfig, type ForwardRoute, parseForwardConfig, parseForwardRoutes } from './config'
export { createForwarder, type Forwarder, type ForwarderOptions } from './forwarder'
