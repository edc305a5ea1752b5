import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real brokers are started once for the whole run and shared by every test file.
    globalSetup: ['test/global-setup.ts'],
    // Brokers and clients share two cores: long timeouts, bounded file parallelism.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
    maxWorkers: 2,
    // Counts for .ci/run's summary line, written on every run.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
  },
})
