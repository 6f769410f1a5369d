/** Minimal ANSI styling that switches itself off for pipes, `NO_COLOR` and `TERM=dumb`. */

export const colorEnabled = (stream: NodeJS.WriteStream = process.stdout): boolean =>
  Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb'

const wrap =
  (open: number, close: number) =>
  (text: string, on = colorEnabled()) =>
    on ? `\x1b[${open}m${text}\x1b[${close}m` : text

export const bold = wrap(1, 22)
export const dim = wrap(2, 22)
export const red = wrap(31, 39)
export const green = wrap(32, 39)
export const yellow = wrap(33, 39)
export const blue = wrap(34, 39)
export const magenta = wrap(35, 39)
export const cyan = wrap(36, 39)
export const gray = wrap(90, 39)

// biome-ignore lint/suspicious/noControlCharactersInRegex: matching ANSI escape sequences is the point
const ANSI = /\x1b\[[0-9;]*m/g

export const visibleLength = (text: string): number => text.replace(ANSI, '').length
