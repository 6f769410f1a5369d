import type { BenchContext } from '../lib/context'

export const endToEndScenario = async (_ctx: BenchContext) => {}
