import { createHash } from 'node:crypto'
import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'
import { TEST_API_KEYS } from './test/functions/support/api-keys'

const API_KEYS = JSON.stringify(
  Object.values(TEST_API_KEYS).map(({ name, key, scopes }) => ({
    name,
    sha256: createHash('sha256').update(key).digest('hex'),
    scopes,
  })),
)

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 90_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/**/*.test.ts'],
          exclude: ['test/functions/**', 'test/reliability/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'reliability',
          include: ['test/reliability/**/*.test.ts'],
          globalSetup: ['test/reliability/global-setup.ts'],
          testTimeout: 180_000,
        },
      },
      {
        extends: true,
        plugins: [
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                DATABASE_URL: inject('databaseUrl'),
                PG_WS_PROXY: inject('pgWsProxy'),
                BRIDGE_URL: inject('bridgeUrl'),
                BRIDGE_TOKEN: inject('bridgeToken'),
                API_KEYS,
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/functions/**/*.test.ts'],
          globalSetup: ['test/functions/global-setup.ts'],
        },
      },
    ],
  },
})
