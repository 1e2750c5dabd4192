import { defineConfig } from 'vitest/config';

// Two projects:
//   unit        test/**/*.test.ts except *.integration.test.ts; no broker (`npm run test:unit`)
//   integration test/**/*.integration.test.ts; one real Kafka broker for the run
//               (test/support/global-setup.ts), files one at a time (2-core machines)
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.integration.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
        },
      },
    ],
  },
});
