import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/base-dir.js';
import { CrashChain, type CrashTrialReport } from './scenarios.js';

const CHAINS = 6;
const TRIALS_PER_CHAIN = 5;

describe('kill -9 of a saving process', () => {
  it(`${CHAINS * TRIALS_PER_CHAIN} trials: after restart every file parses and every acknowledged write is there`, async () => {
    const reports: CrashTrialReport[] = [];
    for (let chain = 0; chain < CHAINS; chain++) {
      const crashes = await CrashChain.create(await tempDir());
      for (let trial = 0; trial < TRIALS_PER_CHAIN; trial++) reports.push(await crashes.trial(1200));
    }
    expect(reports.flatMap((report) => report.problems)).toEqual([]);
    expect(reports.reduce((sum, report) => sum + report.lostWrites + report.tornFiles, 0)).toBe(0);
    // The kills must land among saves, not only before the first one.
    expect(reports.reduce((sum, report) => sum + report.acknowledged, 0)).toBeGreaterThan(
      CHAINS * TRIALS_PER_CHAIN,
    );
    expect(reports.filter((report) => report.inFlight).length).toBeGreaterThan(
      CHAINS * TRIALS_PER_CHAIN * 0.5,
    );
  }, 150_000);
});
