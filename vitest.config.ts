import { cloudflareTest } from '@cloudflare/vitest-pool-workers'
import { defineConfig } from 'vitest/config'

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
          exclude: ['test/functions/**', '**/node_modules/**'],
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
