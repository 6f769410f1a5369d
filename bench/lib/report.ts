import { writeFileSync } from 'node:fs'
import type { Sample } from './measure'

export interface Row extends Sample {
  id: string
  scenario: string
  concurrency: number | string
  /** What `rate` counts: ev (events), req (requests), deliveries. */
  unit: string
  /** Row this one is compared with (measured in the same run). */
  baseline?: string
  /** `rate`: throughput ratio; `latency`: p50/p99 ratios and the p50 overhead in ms. */
  compare?: 'rate' | 'latency'
  /** Bridge CPU time per 1,000 operations of this row. */
  cpuMsPer1k?: number
  /** Bridge resident set size right after the row. */
  rssMb?: number
  note?: string
  /**
   * The rows whose composed limit `1/(1/hello + 1/direct)` bounds this one: the trivial route on
   * the same HTTP stack and the work done directly, measured in the same run.
   */
  limit?: { hello: string; direct: string }
  /** Filled in from `limit` when the run ends: the composed limit and this row's share of it. */
  composedLimit?: number
  ofComposedLimit?: number
}

export interface Target {
  target: string
  measured: string
  met: boolean
}

export interface Results {
  date: string
  environment: Record<string, string | number>
  rows: Row[]
  targets: Target[]
  bridge: { peakRssMb?: number }
}

export const fmt = (n: number | undefined, digits = 0) =>
  n === undefined || Number.isNaN(n) ? '–' : n.toLocaleString('en-US', { maximumFractionDigits: digits })

/** `1/(1/hello + 1/direct)`: the rate of doing both the trivial request and the direct work in turn. */
export const composedLimit = (helloRate: number, directRate: number) => 1 / (1 / helloRate + 1 / directRate)

/** Sets `composedLimit` and `ofComposedLimit` on every row that names its limit rows and has them. */
export const applyComposedLimits = (rows: Row[]) => {
  for (const row of rows) {
    if (!row.limit) continue
    const hello = rows.find((r) => r.id === row.limit?.hello)
    const direct = rows.find((r) => r.id === row.limit?.direct)
    if (!hello?.rate || !direct?.rate) continue
    row.composedLimit = composedLimit(hello.rate, direct.rate)
    row.ofComposedLimit = row.rate / row.composedLimit
  }
}

const ratioText = (row: Row, rows: Row[]): string => {
  const base = row.baseline ? rows.find((r) => r.id === row.baseline) : undefined
  const limit =
    row.ofComposedLimit === undefined
      ? ''
      : `${fmt(row.ofComposedLimit, 2)}× limit ${fmt(row.composedLimit)}/s (${row.limit?.hello} ∘ ${row.limit?.direct})`
  if (!base) return limit || 'baseline'
  if (row.compare === 'latency')
    return `p50 ${fmt(row.p50 / base.p50, 2)}× (+${fmt(row.p50 - base.p50, 2)} ms), p99 ${fmt(row.p99 / base.p99, 2)}×`
  const rate = `${fmt(row.rate / base.rate, 2)}× rate`
  return limit ? `${limit}; ${rate}` : rate
}

const HEADER = [
  'scenario',
  'c',
  'throughput',
  'p50 ms',
  'p99 ms',
  'failed',
  'vs baseline',
  'bridge CPU ms/1k',
  'bridge RSS MB',
]

const cells = (row: Row, rows: Row[]) => [
  row.note ? `${row.scenario} (${row.note})` : row.scenario,
  String(row.concurrency),
  `${fmt(row.rate)} ${row.unit}/s`,
  fmt(row.p50, 2),
  fmt(row.p99, 2),
  String(row.failures),
  ratioText(row, rows),
  fmt(row.cpuMsPer1k, 1),
  fmt(row.rssMb, 0),
]

export const markdownTable = (header: string[], lines: string[][]): string => {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)))
  const line = (c: string[]) => `| ${c.map((cell, i) => cell.padEnd(widths[i]!)).join(' | ')} |`
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(line)].join('\n')
}

export const rowsTable = (rows: Row[]) =>
  markdownTable(
    HEADER,
    rows.map((r) => cells(r, rows)),
  )

export const targetsTable = (targets: Target[]) =>
  markdownTable(
    ['target', 'measured', 'met'],
    targets.map((t) => [t.target, t.measured, t.met ? 'yes' : 'no']),
  )

export const toMarkdown = (results: Results): string => {
  const env = Object.entries(results.environment)
    .map(([k, v]) => `${k}: ${v}`)
    .join(' · ')
  return [
    `# Benchmark results (${results.date})`,
    '',
    env,
    '',
    rowsTable(results.rows),
    '',
    `Bridge peak RSS over the run: ${fmt(results.bridge.peakRssMb, 0)} MB.`,
    '',
    targetsTable(results.targets),
    '',
  ].join('\n')
}

export const writeResults = (dir: string, results: Results) => {
  writeFileSync(`${dir}/results.json`, `${JSON.stringify(results, null, 2)}\n`)
  writeFileSync(`${dir}/results.md`, toMarkdown(results))
}
