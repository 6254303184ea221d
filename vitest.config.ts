import { defineConfig } from 'vitest/config';

// CI sets CHECKPOINT_TEST_REPORT to get a JSON report it can count, beside the usual output.
const report = process.env.CHECKPOINT_TEST_REPORT;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    reporters: report ? ['default', ['json', { outputFile: report }]] : ['default'],
  },
});
