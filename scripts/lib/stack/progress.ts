import { bold, colorEnabled, dim, green, red, yellow } from './ansi'

/** Step-by-step progress lines with timings: `✔ nats-server  nats://127.0.0.1:4222  0.4 s`. */

const formatMs = (ms: number) => (ms < 1_000 ? `${Math.round(ms)} ms` : `${(ms / 1_000).toFixed(1)} s`)

export class StepFailed extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof Error ? cause.message : String(cause)}`)
    this.name = 'StepFailed'
  }
}

export interface StepContext {
  /** Replace the detail shown next to the step. */
  detail(text: string): void
  /** Tell the user something on a line of its own while the step runs. */
  say(text: string): void
}

const out = process.stdout

let interruptedBy: string | undefined

/**
 * Start-up was stopped by the user (Ctrl-C, SIGTERM): a step that fails from now on failed because
 * its process was stopped, and says that instead of the error.
 */
export const interrupt = (why: string) => {
  interruptedBy ??= why
}

export const interrupted = () => interruptedBy

const line = (mark: string, label: string, detail: string, ms?: number) =>
  `  ${mark} ${label.padEnd(22)} ${detail}${ms === undefined ? '' : `  ${dim(formatMs(ms))}`}`

export const step = async <T>(label: string, fn: (ctx: StepContext) => Promise<T>): Promise<T> => {
  const started = performance.now()
  let detail = ''
  const tty = colorEnabled(out)
  const pending = line(dim('…'), label, dim('starting'))
  if (tty) out.write(pending)
  const finish = (text: string) => {
    if (tty) out.write('\r\x1b[K')
    out.write(`${text}\n`)
  }
  try {
    const result = await fn({
      detail: (text) => {
        detail = text
      },
      say: (text) => {
        out.write(`${tty ? '\r\x1b[K' : ''}  ${yellow('!')} ${text}\n${tty ? pending : ''}`)
      },
    })
    finish(line(green('✔'), label, detail, performance.now() - started))
    return result
  } catch (err) {
    if (interruptedBy) {
      finish(line(yellow('■'), label, yellow(`stopped during start-up (${interruptedBy})`)))
      throw new StepFailed(label, err)
    }
    finish(
      line(
        red('✘'),
        label,
        red(err instanceof Error ? err.message.split('\n')[0]! : String(err)),
        performance.now() - started,
      ),
    )
    throw new StepFailed(label, err)
  }
}

export const skipped = (label: string, why: string) => out.write(`${line(yellow('–'), label, yellow(why))}\n`)

export const info = (text: string) => out.write(`  ${dim(text)}\n`)

export const heading = (text: string) => out.write(`\n${bold(text)}\n`)
