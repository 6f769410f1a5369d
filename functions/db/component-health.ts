import type { Queryable } from './sql'

export interface ComponentHealthReport {
  component: string
  degraded: boolean
  status: string
  details?: Record<string, unknown> | undefined
  source: string
  observedAt: string
}

export interface ComponentHealth {
  component: string
  degraded: boolean
  status: string
  details: Record<string, unknown> | null
  source: string
  observed_at: string
  since: string
}

/**
 * Upserts a component's health. A report older than the stored one (webhooks may arrive out of
 * order) leaves the row alone; `changed_at` moves only when the degraded flag flips. False when the
 * report was older and changed nothing.
 */
export const reportComponentHealth = async (
  db: Queryable,
  report: ComponentHealthReport,
): Promise<boolean> => {
  const { rowCount } = await db.query(
    `insert into component_health (component, degraded, status, details, source, observed_at)
     values ($1, $2, $3, $4, $5, $6)
     on conflict (component) do update set
       degraded = excluded.degraded,
       status = excluded.status,
       details = excluded.details,
       source = excluded.source,
       observed_at = excluded.observed_at,
       changed_at = case when component_health.degraded = excluded.degraded
                         then component_health.changed_at else now() end
     where component_health.observed_at <= excluded.observed_at`,
    [
      report.component,
      report.degraded,
      report.status,
      report.details === undefined ? null : JSON.stringify(report.details),
      report.source,
      report.observedAt,
    ],
  )
  return (rowCount ?? 0) > 0
}
