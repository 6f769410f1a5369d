import { env } from 'cloudflare:workers'
import { afterEach, describe, expect, it, vi } from 'vitest'

// log.ts reads LOG_LEVEL once: each case loads a fresh copy of the module under its own value
const logWith = async (level: string | undefined) => {
  const bindings = env as { LOG_LEVEL?: string }
  if (level === undefined) delete bindings.LOG_LEVEL
  else bindings.LOG_LEVEL = level
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
  const original = (env as { LOG_LEVEL?: string }).LOG_LEVEL
  afterEach(() => {
    ;(env as { LOG_LEVEL?: string }).LOG_LEVEL = original
    vi.restoreAllMocks()
  })

  it('wrangler.toml sets info', () => {
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
