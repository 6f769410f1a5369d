import type { Db } from './pool'

export const ping = async (db: Db): Promise<void> => {
  await db.query('select 1')
}
