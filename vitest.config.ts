import { defineConfig } from 'vitest/config';

// The projects, and what each needs beyond `npm ci`:
//   unit        test/**/*.test.ts except *.integration.test.ts and the fault suite: nothing (no broker,
//               no program but Node; `npm run test:unit`, under a minute)
//   tools       the *.integration.test.ts that need programs but no broker: helm and kube-validate
//               (test/helm/, built by `node scripts/helm.ts fetch`), rsyslog and openssl
//               (test/rsyslog-peer/), the OCSF validator (test/ocsf/, `node scripts/ocsf-validator.ts
//               fetch`); `npm run test:tools`
//   integration the other *.integration.test.ts; one real Kafka broker for the run
//               (test/support/global-setup.ts), files one at a time (2-core machines); openssl, kcat,
//               rsyslog, ElasticMQ (Java), MinIO (Go) as each test's peers
//   faults      test/faults/**/*.faults.test.ts: the fault-injection suite (`npm run faults`; small
//               counts by default, FAULTS_FULL=1 for the full run), its own broker, one file at a time.
//               npm test runs it in its own vitest process beside unit + tools + integration
//               (scripts/run-tests.ts): in one process vitest runs two one-file-at-a-time projects one
//               after the other.
//   faults-quick the secrets fault scenario (a few minutes): npm test runs it in the first process beside the
//               unit and integration tests, so that both processes end at about the same time (on
//               2026-12-04 the first took 1 471 s and the fault process 1 328 s, so the poison scenario
//               moved back to the fault process); `npm run faults` runs both fault projects.
// (A third process was tried on 2026-12-04 for the integration tests that wait through a peer outage:
// the 2 cores are the bound, and every test beside it slowed down — the network fault scenario from
// 395 s to 929 s, the S3 volume test past its timeout — so the run got longer, not shorter.)
/** The fault scenario that runs in the first process (see faults-quick above). */
const QUICK_FAULTS = ['test/faults/secrets.faults.test.ts'];
/** Integration tests that run in the fault process instead (kill -9 and tampering of the provable
 *  archive, ~40 s), so that both processes end at about the same time: on 2026-12-04 the first took
 *  1 257–1 351 s and the fault process 1 200–1 257 s. `npm run faults` runs them too. */
const FAULT_PROCESS_INTEGRATION = ['test/integration/archive-proof.integration.test.ts'];
/** Integration tests that need a program (helm, rsyslog) but no Kafka broker (see tools above). */
const TOOLS = ['test/helm/**/*.integration.test.ts', 'test/rsyslog-peer/**/*.integration.test.ts', 'test/ocsf/**/*.integration.test.ts'];

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
          exclude: ['test/**/*.integration.test.ts', 'test/faults/**', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'tools',
          include: TOOLS,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.integration.test.ts'],
          exclude: [...TOOLS, ...FAULT_PROCESS_INTEGRATION, '**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'faults',
          include: ['test/faults/**/*.faults.test.ts', ...FAULT_PROCESS_INTEGRATION],
          exclude: [...QUICK_FAULTS, '**/node_modules/**'],
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
        },
      },
      {
        extends: true,
        test: {
          name: 'faults-quick',
          include: QUICK_FAULTS,
          globalSetup: ['test/support/global-setup.ts'],
          fileParallelism: false,
        },
      },

    ],
  },
});
