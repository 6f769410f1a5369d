import { bold, cyan, dim, green, visibleLength } from './ansi'

export type SummaryRow = [label: string, value: string] | 'gap'

/** A box with one `label  value` row per line; a row's value may span several lines. */
export const summaryBox = (title: string, rows: SummaryRow[]): string => {
  const labelWidth = Math.max(...rows.map((r) => (r === 'gap' ? 0 : r[0].length)))
  const lines: string[] = []
  for (const row of rows) {
    if (row === 'gap') {
      lines.push('')
      continue
    }
    const [label, value] = row
    value.split('\n').forEach((part, i) => {
      lines.push(`${i === 0 ? bold(label.padEnd(labelWidth)) : ' '.repeat(labelWidth)}  ${part}`)
    })
  }
  const width = Math.max(visibleLength(title) + 2, ...lines.map(visibleLength))
  const pad = (text: string) => text + ' '.repeat(width - visibleLength(text))
  return [
    dim(`╭─${'─'.repeat(width)}─╮`),
    `${dim('│')} ${pad(green(bold(title)))} ${dim('│')}`,
    dim(`├─${'─'.repeat(width)}─┤`),
    ...lines.map((line) => `${dim('│')} ${pad(line)} ${dim('│')}`),
    dim(`╰─${'─'.repeat(width)}─╯`),
  ].join('\n')
}

export const link = (url: string) => cyan(url)
