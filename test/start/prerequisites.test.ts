import { describe, expect, it } from 'vitest'
import { installedVersionIn, staleDependencies } from '../../scripts/lib/installed-dependencies.mjs'
import {
  type Checked,
  missingReport,
  plan,
  type Requirement,
  runIncludes,
  satisfiesMinimum,
} from '../../scripts/lib/prerequisites'

const requirement = (name: string, aptPackage?: string): Requirement => ({
  name,
  neededFor: `the ${name} tests`,
  probe: () => ({ missing: 'absent' }),
  hint: `provide ${name}`,
  ...(aptPackage ? { aptPackage } : {}),
})

const missing = (name: string, aptPackage?: string): Checked => ({
  requirement: requirement(name, aptPackage),
  missing: `${name} not found`,
})
const found = (name: string, aptPackage?: string): Checked => ({
  requirement: requirement(name, aptPackage),
  found: `/usr/bin/${name}`,
})

describe('Node version check', () => {
  it('compares against the lowest version a >= range allows', () => {
    expect(satisfiesMinimum('20.3.0', '>=20.3.0')).toBe(true)
    expect(satisfiesMinimum('20.20.2', '>=20.3.0')).toBe(true)
    expect(satisfiesMinimum('22.0.0', '>=20.3.0')).toBe(true)
    expect(satisfiesMinimum('20.2.9', '>=20.3.0')).toBe(false)
    expect(satisfiesMinimum('18.19.0', '>=20.3.0')).toBe(false)
    expect(satisfiesMinimum('v20.10.0-nightly', '>= 20.3')).toBe(true)
    expect(satisfiesMinimum('19.9.0', '>=20')).toBe(false)
  })
})

describe('which tests a vitest command line runs', () => {
  const console = 'test/bridge/console/console.test.ts'
  it('is the whole suite without file filters', () => {
    expect(runIncludes([], console)).toBe(true)
    expect(runIncludes(['--reporter', 'verbose'], console)).toBe(true)
  })
  it('follows file filters the way vitest matches them (substring of the path)', () => {
    expect(runIncludes(['test/bridge/publish.test.ts'], console)).toBe(false)
    expect(runIncludes(['test/bridge/console'], console)).toBe(true)
    expect(runIncludes(['./test/bridge/console/console.test.ts'], console)).toBe(true)
    expect(runIncludes(['console'], console)).toBe(true)
    expect(runIncludes(['publish', 'console.test'], console)).toBe(true)
  })
  it('does not take an option value for a file filter', () => {
    expect(runIncludes(['-t', 'console', 'test/shared'], console)).toBe(false)
    expect(runIncludes(['--reporter=verbose', 'test/shared'], console)).toBe(false)
  })
  it('leaves out files of other projects', () => {
    expect(runIncludes(['--project', 'workers'], console)).toBe(false)
    expect(runIncludes(['--project=node'], console)).toBe(true)
    expect(runIncludes(['--project', 'reliability', 'test/'], 'test/reliability/soak.test.ts')).toBe(true)
  })
})

describe('prerequisite plan and report', () => {
  it('installs only Debian packages, and only where it can', () => {
    const checked = [found('node'), missing('nats-server', 'nats-server'), missing('Chromium', 'chromium')]
    const asRoot = plan(checked, true)
    expect(asRoot.install.map((c) => c.requirement.name)).toEqual(['nats-server', 'Chromium'])
    expect(asRoot.missing).toEqual([])
    expect(asRoot.found.map((c) => c.requirement.name)).toEqual(['node'])

    const asUser = plan(checked, false)
    expect(asUser.install).toEqual([])
    expect(asUser.missing.map((c) => c.requirement.name)).toEqual(['nats-server', 'Chromium'])
  })

  it('never plans to install what has no package', () => {
    const result = plan([missing('Node.js'), missing('Chromium', 'chromium')], true)
    expect(result.missing.map((c) => c.requirement.name)).toEqual(['Node.js'])
    expect(result.install.map((c) => c.requirement.name)).toEqual(['Chromium'])
  })

  it('lists everything missing in one message, each with its remedy', () => {
    const text = missingReport([missing('nats-server', 'nats-server'), missing('Chromium', 'chromium')])
    expect(text.split('\n')).toEqual([
      'npm test cannot run: this machine lacks what the tests need.',
      '  ✘ nats-server (the nats-server tests): nats-server not found',
      '      → provide nats-server',
      '  ✘ Chromium (the Chromium tests): Chromium not found',
      '      → provide Chromium',
      'Run as root on Debian/Ubuntu and npm test installs the Debian packages itself.',
    ])
  })

  it('names what would have been installed when something else stops the run', () => {
    const text = missingReport([missing('Node.js')], [missing('Chromium', 'chromium')])
    expect(text).toContain('✘ Node.js')
    expect(text).toContain(
      '○ Chromium (the Chromium tests): Chromium not found; would be installed (apt-get install -y chromium)',
    )
    expect(text).not.toContain('Run as root')
  })
})

describe('node_modules against package.json', () => {
  const manifest = {
    dependencies: { hono: '4.13.19', nats: '2.29.3' },
    devDependencies: { vitest: '4.1.12', ranged: '^1.0.0' },
  }
  const installed: Record<string, string> = {
    hono: '4.13.19',
    nats: '2.29.3',
    vitest: '4.1.12',
    ranged: '1.4.0',
  }

  it('is current when every pinned version is installed', () => {
    expect(staleDependencies(manifest, (name) => installed[name])).toBeUndefined()
  })
  it('is stale when a dependency is missing or at another version than the pinned one', () => {
    const now: Record<string, string> = { ...installed, nats: '2.28.0' }
    delete now.vitest
    expect(staleDependencies(manifest, (name) => now[name])).toEqual([
      'nats 2.28.0 is installed, package.json pins 2.29.3',
      'vitest is not installed',
    ])
  })
  it('only needs a ranged dependency to be present', () => {
    expect(staleDependencies(manifest, (name) => ({ ...installed, ranged: '1.9.9' })[name])).toBeUndefined()
  })
  it('matches this checkout', () => {
    const root = new URL('../../', import.meta.url).pathname
    expect(installedVersionIn(root)('vitest')).toBe('4.1.12')
    expect(installedVersionIn(root)('no-such-package-here')).toBeUndefined()
  })
})
