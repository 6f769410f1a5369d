import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** True under `npm run test:soak`: scenarios scale their counts and durations up. */
export const SOAK = process.env.SOAK === '1' || process.env.SOAK === 'true'

/** Picks the short-form or the soak value. */
export const scaled = <T>(short: T, soak: T): T => (SOAK ? soak : short)

export interface Figures {
  scenario: string
  /** Requests or events handed to the system. */
  sent: number
  /** Of those, how many the system confirmed (201 from the functions, 202 from the bridge). */
  acked: number
  /** Distinct event_ids found where they must end up (stream, subscriber). */
  received: number
  /** Acked but never received. */
  lost: number
  /** Copies beyond the first of one event_id. */
  duplicated: number
  /** From the fault being cleared until the component served again; null when there is no fault. */
  recovery_ms: number | null
  /** Anything else the scenario measured (longest publish gap, RSS slope…). */
  notes?: Record<string, string | number>
}

/** Where every scenario appends its figures (one JSON line each) so a run can print one table. */
export const reportFile = (): string =>
  process.env.RELIABILITY_REPORT ?? join(tmpdir(), `reliability-report-${process.ppid}.jsonl`)

/** Counts by event_id: how many distinct ids were received, how many extra copies, which acked ids are missing. */
export const tally = (acked: Iterable<string>, received: Iterable<string>) => {
  const counts = new Map<string, number>()
  for (const id of received) counts.set(id, (counts.get(id) ?? 0) + 1)
  let duplicated = 0
  for (const n of counts.values()) duplicated += n - 1
  const missing: string[] = []
  for (const id of acked) if (!counts.has(id)) missing.push(id)
  return { received: counts.size, duplicated, lost: missing.length, missing }
}

const formatNotes = (notes: Figures['notes']) =>
  notes
    ? Object.entries(notes)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')
    : ''

/** Prints one scenario's figures and appends them to the run's report file. */
export const report = (figures: Figures): Figures => {
  const recovery = figures.recovery_ms === null ? '-' : `${figures.recovery_ms} ms`
  console.log(
    `[reliability] ${figures.scenario}: sent=${figures.sent} acked=${figures.acked} received=${figures.received} ` +
      `lost=${figures.lost} duplicated=${figures.duplicated} recovery=${recovery} ${formatNotes(figures.notes)}`.trimEnd(),
  )
  appendFileSync(reportFile(), `${JSON.stringify({ ...figures, at: new Date().toISOString() })}\n`)
  return figures
}

export const readReport = (file = reportFile()): Figures[] =>
  existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Figures)
    : []

/** The summary table, one row per scenario, in Markdown so it can go straight into a note. */
export const summaryTable = (rows: readonly Figures[]): string => {
  const head = ['scenario', 'sent', 'acked', 'received', 'lost', 'duplicated', 'recovery', 'notes']
  const body = rows.map((r) => [
    r.scenario,
    String(r.sent),
    String(r.acked),
    String(r.received),
    String(r.lost),
    String(r.duplicated),
    r.recovery_ms === null ? '-' : `${(r.recovery_ms / 1000).toFixed(2)} s`,
    formatNotes(r.notes),
  ])
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...body.map(line)].join('\n')
}
