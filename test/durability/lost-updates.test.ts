import { describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/base-dir.js';
import { runLostUpdates } from './scenarios.js';

describe('many writer processes on one session', () => {
  it('8 processes x 25 saves lose no update, and a reader alongside only ever parses complete files', async () => {
    const report = await runLostUpdates(await tempDir(), 8, 25);
    expect(report.problems).toEqual([]);
    expect(report).toMatchObject({
      saves: 200,
      acknowledged: 200,
      expectedRevision: 201,
      revision: 201,
      lostWrites: 0,
      tornReads: 0,
    });
    expect(report.readerReads).toBeGreaterThan(0);
    expect(report.readerLoads).toBeGreaterThan(0);
  }, 120_000);
});
