import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'],
          typecheck: { enabled: true, include: ['test/unit/**/*.test.ts', 'src/**/*.test.ts'] },
          // A few unit tests simulate or encode a lot of data; on a busy 2-core machine they need more than 5 s.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/helpers/global-setup.ts'],
          // pg-deprecations fails a test whose pg client warns of what pg 9 removes (overlapping queries).
          setupFiles: ['test/helpers/service-env.ts', 'test/helpers/pg-deprecations.ts'],
          // One broker and one database for all files: run the files one after another.
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
        },
      },
    ],
  },
});
