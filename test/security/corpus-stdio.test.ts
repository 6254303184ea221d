import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, CORPUS, runCase, SMALL_LIMITS, seed } from './corpus.js';
import { openSandbox, type Sandbox, treeListing } from './sandbox.js';

// The built server runs with the default limits but for --max-content-bytes: the other limit cases
// would be valid requests there, so only the content limit is crossed over stdio.
const OVER_STDIO = CORPUS.filter(
  (hostile) => hostile.code !== 'LIMIT_EXCEEDED' || hostile.name.includes('output_content'),
);

describe('the corpus against the built server over stdio', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await openSandbox({
      spawn: { args: ['--max-content-bytes', String(SMALL_LIMITS.maxContentBytes)] },
    });
    await seed(sandbox.client);
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('answers every case with its code, survives them all and leaves everything outside the base alone', async () => {
    const base = await treeListing(sandbox.base);
    const stored = await sandbox.storedListing();
    const canary = await treeListing(sandbox.canary);
    const evil = await treeListing(sandbox.evil);
    const wrong: string[] = [];
    for (const hostile of OVER_STDIO) {
      const { code, text } = await runCase(sandbox.client, hostile);
      if (code !== hostile.code) wrong.push(`${hostile.name}: ${code} ${text.slice(0, 200)}`);
      if (text.includes(sandbox.root) || text.includes(sandbox.marker))
        wrong.push(`${hostile.name} leaks: ${text}`);
    }
    expect(wrong).toEqual([]);
    expect(OVER_STDIO.length).toBeGreaterThan(600);
    await assertAlive(sandbox.client);
    expect(await treeListing(sandbox.canary)).toEqual(canary);
    expect(await treeListing(sandbox.evil)).toEqual(evil);
    expect(await treeListing(sandbox.base)).toEqual(base);
    expect(await sandbox.storedListing()).toEqual(stored);
  });
});
