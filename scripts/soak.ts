/**
 * npm run test:soak — the reliability suite's long form (SOAK=1: bigger counts, longer runs), then
 * the summary table of every scenario's figures.
 */
import { spawnSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readReport, summaryTable } from '../test/reliability/support/report'

const file = join(tmpdir(), `reliability-soak-${process.pid}.jsonl`)
const result = spawnSync(
  'node_modules/.bin/vitest',
  ['run', '--project', 'reliability', ...process.argv.slice(2)],
  { stdio: 'inherit', env: { ...process.env, SOAK: '1', RELIABILITY_REPORT: file } },
)
const rows = readReport(file)
console.log(`\nSoak summary (${rows.length} scenarios)\n\n${summaryTable(rows)}\n`)
process.exit(result.status ?? 1)
