import { rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readReport, summaryTable } from './support/report'

/** One report file per run; the table of every scenario's figures is printed when the run ends. */
export default function setup() {
  const file =
    process.env.RELIABILITY_REPORT ?? join(tmpdir(), `reliability-report-${process.pid}-${Date.now()}.jsonl`)
  process.env.RELIABILITY_REPORT = file
  rmSync(file, { force: true })
  return () => {
    const rows = readReport(file).sort((a, b) =>
      a.scenario.localeCompare(b.scenario, 'en', { numeric: true }),
    )
    if (rows.length > 0)
      console.log(`\nReliability figures${process.env.SOAK ? ' (soak)' : ''}\n\n${summaryTable(rows)}\n`)
  }
}
