import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';
import type { Reporter } from 'vitest/node';
import { postgresUnavailable } from './test/helpers/postgres.js';

// CI sets CHECKPOINT_TEST_REPORT to get a JSON report it can count, beside the usual output.
const report = process.env.CHECKPOINT_TEST_REPORT;

/**
 * The behavioural suites: specified once, run by the `file` project on the file engine and by the
 * `postgres` project on PostgreSQL (test/helpers/engine.ts reads CHECKPOINT_TEST_ENGINE).
 */
const ENGINE_SUITES = [
  'test/checkpoint/*.test.ts',
  'test/tools/**/*.test.ts',
  'test/browse/**/*.test.ts',
  'test/security/corpus.test.ts',
  'test/security/corpus-stdio.test.ts',
  'test/security/forgery.test.ts',
  'test/security/identifiers.property.test.ts',
  // Durability where it is the store's contract, not the file engine's mechanics (lock files, fsync,
  // injected disk faults, temporary files, kill -9 of file writers: those suites stay file-only).
  'test/durability/history.test.ts',
  'test/durability/lock-and-recovery.test.ts',
  'test/durability/repair.test.ts',
  'test/store/unchanged-write.test.ts',
  'test/store/read-all.test.ts',
  'test/store/parse-cache.test.ts',
  'test/store/missing-folder-lock.test.ts',
];
/** Pure value tests among them, which touch no engine. */
const NO_ENGINE = [
  'test/checkpoint/decimal.test.ts',
  'test/checkpoint/values.test.ts',
  'test/checkpoint/utf8.test.ts',
];
/** Suites that need PostgreSQL itself: both engines side by side, and the engine's own tests. */
const POSTGRES_ONLY = ['test/engines/**/*.test.ts', 'test/postgres/**/*.test.ts'];

// Where PostgreSQL cannot run (no server binaries, or root without a postgres user) the postgres
// project is left out with a notice, unless CI_REQUIRE_POSTGRES=1 makes that a failure.
const unavailable = postgresUnavailable();
if (unavailable !== undefined && process.env.CI_REQUIRE_POSTGRES === '1') {
  throw new Error(`CI_REQUIRE_POSTGRES=1, but PostgreSQL cannot run here: ${unavailable}`);
}
const skipped =
  unavailable === undefined
    ? undefined
    : `SKIPPED the postgres project: ${unavailable}. Not run on PostgreSQL: ${ENGINE_SUITES.join(', ')} (they ran on the file engine); not run at all: ${POSTGRES_ONLY.join(', ')}. CI_REQUIRE_POSTGRES=1 makes this a failure.`;

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Much of the suite waits on child processes, sockets and the disk: two files at a time even on a
    // two-core machine (vitest would run one there), which takes the whole run from ~10.5 to ~7 minutes.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: [
      'default',
      ...(report ? [['json', { outputFile: report }] as ['json', { outputFile: string }]] : []),
      ...(skipped ? [notice(skipped)] : []),
    ],
    projects: [
      {
        extends: true,
        test: { name: 'file', include: ['test/**/*.test.ts'], exclude: POSTGRES_ONLY },
      },
      ...(skipped
        ? []
        : [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: [...ENGINE_SUITES, ...POSTGRES_ONLY],
                exclude: NO_ENGINE,
                env: { CHECKPOINT_TEST_ENGINE: 'postgres' },
                globalSetup: ['test/helpers/postgres-global-setup.ts'],
              },
            },
          ]),
    ],
  },
});

/** Says what was skipped when the run starts and again beside the totals, where it is seen. */
function notice(line: string): Reporter {
  const say = () => {
    process.stdout.write(`\n${line}\n\n`);
  };
  return { onInit: say, onTestRunEnd: say };
}
