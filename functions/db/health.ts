import type { Pool } from '@neondatabase/serverless'

export const ping = async (pool: Pool) => {
  await pool.query('select 1')
}
