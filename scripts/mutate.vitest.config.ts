import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The suites that judge the mutants of `npm run mutate` (stryker.config.mjs), on the file engine: the
 * core's suites that run the store, lock, paging and budget code in the test process, and the protocol
 * suites about paging, budgets and resource updates. Left out: suites whose writers are child processes
 * (kill9, lost-updates, coarse-clock, lock-holder: no mutant is active in a child, and they take
 * minutes), suites that spawn the built server, and protocol suites that repeat what the core's check.
 */
export default defineConfig({
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: [
      'test/checkpoint/**/*.test.ts',
      'test/store/**/*.test.ts',
      'test/durability/{guards,history,faults,lock-and-recovery,repair}.test.ts',
      'test/security/{symlinks,corpus}.test.ts',
      'test/browse/{agent-output,bounded,listing,resources}.test.ts',
      'test/tools/outputs.test.ts',
    ],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
