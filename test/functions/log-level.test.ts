import { afterEach, describe, expect, it, vi } from 'vitest'

// nodejs_compat puts the Worker's vars in process.env (not typed in the Workers tsconfig)
const vars = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env

// log.ts reads LOG_LEVEL once: each case loads a fresh copy of the module under its own value
const logWith = async (level: string | undefined) => {
  if (level === undefined) delete vars.LOG_LEVEL
  else vars.LOG_LEVEL = level
  vi.resetModules()
  return (await import('../../functions/log')).log
}

const capture = () => {
  const lines: { stream: string; line: Record<string, unknown> }[] = []
  for (const stream of ['log', 'warn', 'error'] as const)
    vi.spyOn(console, stream).mockImplementation((text: string) => {
      lines.push({ stream, line: JSON.parse(text) })
    })
  return lines
}

describe('functions log level', () => {
  const original = vars.LOG_LEVEL
  afterEach(() => {
    vars.LOG_LEVEL = original
    vi.restoreAllMocks()
  })

  it('reads the var wrangler.toml sets (info) from process.env', () => {
    expect(original).toBe('info')
  })

  it('LOG_LEVEL=warn drops info and debug lines and keeps warn and error', async () => {
    const log = await logWith('warn')
    const lines = capture()
    log.debug('d')
    log.info('i')
    log.warn('w', { n: 1 })
    log.error('e')
    expect(lines.map((l) => [l.stream, l.line.level, l.line.msg])).toEqual([
      ['warn', 'warn', 'w'],
      ['error', 'error', 'e'],
    ])
    expect(lines[0]?.line.n).toBe(1)
  })

  it('LOG_LEVEL=debug keeps debug lines', async () => {
    const log = await logWith('DEBUG')
    const lines = capture()
    log.debug('d')
    expect(lines.map((l) => l.line.level)).toEqual(['debug'])
  })

  it('an unknown LOG_LEVEL logs from info up and says so once', async () => {
    const log = await logWith('verbose')
    const lines = capture()
    log.debug('d')
    log.info('i')
    log.info('j')
    expect(lines.map((l) => [l.line.level, l.line.msg])).toEqual([
      ['warn', 'LOG_LEVEL is not one of debug, info, warn, error: logging from info up'],
      ['info', 'i'],
      ['info', 'j'],
    ])
  })
})
