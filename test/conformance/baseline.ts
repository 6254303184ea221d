import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { failedChecks, type SuiteResult } from './run-suite.js';

export const BASELINE_PATH = 'test/conformance/baseline.json';

/** A scenario checkpoint-mcp is known to fail: exactly which of its checks fail, and why. */
export const ExpectedFailure = z.strictObject({
  checks: z.array(z.string().min(1)).min(1),
  reason: z.string().min(20),
});

export const SuiteBaseline = z.strictObject({
  /** The npm spec the baseline was taken with; a new version needs a new look at every entry. */
  package: z.string(),
  expectedFailures: z.record(z.string(), ExpectedFailure),
});
export type SuiteBaseline = z.infer<typeof SuiteBaseline>;

export const Baseline = z.strictObject({
  $comment: z.string().optional(),
  suites: z.record(z.string(), SuiteBaseline),
});
export type Baseline = z.infer<typeof Baseline>;

export function loadBaseline(): Baseline {
  return Baseline.parse(JSON.parse(readFileSync(new URL('./baseline.json', import.meta.url), 'utf8')));
}

/**
 * Every way a run differs from its baseline, one sentence each: a check that fails unlisted, a listed
 * check that now passes (so the baseline stays true), a listed scenario that no longer runs.
 */
export function differencesFromBaseline(
  suite: string,
  result: SuiteResult,
  baseline: SuiteBaseline,
): string[] {
  const differences: string[] = [];
  for (const [scenario, checks] of result) {
    const expected = baseline.expectedFailures[scenario]?.checks ?? [];
    const failed = failedChecks(checks);
    for (const id of failed.filter((check) => !expected.includes(check))) {
      const message = checks.find((check) => check.id === id && check.status === 'FAILURE')?.errorMessage;
      differences.push(
        `${suite} ${scenario}: check ${id} fails and is not in the baseline: ${message ?? ''}`,
      );
    }
    for (const id of expected.filter((check) => !failed.includes(check)))
      differences.push(
        `${suite} ${scenario}: check ${id} now passes; remove it from ${BASELINE_PATH} (suites["${suite}"])`,
      );
  }
  for (const scenario of Object.keys(baseline.expectedFailures))
    if (!result.has(scenario))
      differences.push(
        `${suite} ${scenario}: did not run; remove it from ${BASELINE_PATH} (suites["${suite}"])`,
      );
  return differences;
}
