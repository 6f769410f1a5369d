import type { ComponentHealth } from './component-health'
import type { Queryable } from './sql'

export interface OutboxStats {
  pending: number
  oldest_pending_age_seconds: number | null
}

export interface DatabaseHealth {
  outbox: OutboxStats
  components: ComponentHealth[]
}

/** Everything `/health/detailed` reads from the database, in one statement (its answer is the ping). */
export const readDatabaseHealth = async (db: Queryable): Promise<DatabaseHealth> => {
  const { rows } = await db.query<{
    pending: number
    oldest: number | null
    components: Array<Omit<ComponentHealth, 'since'> & { changed_at: string }>
  }>(
    `select count(*)::int as pending,
            extract(epoch from now() - min(created_at))::float8 as oldest,
            (select coalesce(json_agg(json_build_object(
                      'component', component, 'degraded', degraded, 'status', status, 'details', details,
                      'source', source, 'observed_at', observed_at, 'changed_at', changed_at)
                    order by component), '[]'::json)
               from component_health) as components
       from outbox
      where delivered_at is null`,
  )
  const row = rows[0]
  return {
    outbox: {
      pending: row?.pending ?? 0,
      oldest_pending_age_seconds: row?.oldest == null ? null : Math.round(row.oldest * 1000) / 1000,
    },
    components: (row?.components ?? []).map((c) => ({
      component: c.component,
      degraded: c.degraded,
      status: c.status,
      details: c.details,
      source: c.source,
      observed_at: new Date(c.observed_at).toISOString(),
      since: new Date(c.changed_at).toISOString(),
    })),
  }
}
