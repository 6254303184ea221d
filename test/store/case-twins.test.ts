import { existsSync, lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNC_LIST_BYTES } from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempFiles } from '../durability/harness.js';
import { managers } from '../helpers/base-dir.js';
import { rejected } from '../helpers/errors.js';

// A new output's folder is read for a name that differs only in letter case: with a synchronous call
// while the folder is small, through the thread pool once it is large. Both must find a twin.
const REF = { project_id: 'p', session_id: 's' };
const PHASE = ['p', 'sessions', 's', 'phase_1_concept'];

/** Managers whose store counts its folder listings by kind; readdirSync fails with EIO once `failing` is set. */
async function counted() {
  const calls = { sync: 0, pooled: 0, failing: false };
  const fs: StoreFs = {
    ...nodeFs,
    readdirSync: (path) => {
      calls.sync++;
      if (calls.failing) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
      return nodeFs.readdirSync(path);
    },
    readdir: ((...args: Parameters<StoreFs['readdir']>) => {
      calls.pooled++;
      return nodeFs.readdir(...args);
    }) as StoreFs['readdir'],
  };
  const m = await managers({ engine: 'file', store: { fs } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u' });
  const phase = join(m.base, ...PHASE);
  const save = (agent_name: string) =>
    m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name, output_content: `by ${agent_name}` });
  // The first save makes the phase folder; the counts start after it.
  await save('first');
  calls.sync = 0;
  calls.pooled = 0;
  return { ...m, calls, phase, save };
}

describe('case twins on the file engine', () => {
  it('finds a hand-added twin in a small folder with one synchronous listing', async () => {
    const { calls, phase, save } = await counted();
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');
    expect(lstatSync(phase).size).toBeLessThanOrEqual(SYNC_LIST_BYTES);

    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    expect(calls).toMatchObject({ sync: 1, pooled: 0 });
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);
    expect(await tempFiles(phase)).toEqual([]);

    await save('editor');
    expect(calls).toMatchObject({ sync: 2, pooled: 0 });
    expect(existsSync(join(phase, 'editor.md'))).toBe(true);
  });

  it('finds a twin in a folder too large for a synchronous listing through the thread pool', async () => {
    const { calls, phase, save } = await counted();
    for (let i = 0; i < 1500; i++) writeFileSync(join(phase, `${'filler_'.repeat(8)}${i}.txt`), '');
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');
    expect(lstatSync(phase).size).toBeGreaterThan(SYNC_LIST_BYTES);

    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    expect(calls).toMatchObject({ sync: 0, pooled: 1 });
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);

    await save('editor');
    expect(calls).toMatchObject({ sync: 0, pooled: 2 });
    expect(existsSync(join(phase, 'editor.md'))).toBe(true);
    expect(await tempFiles(phase)).toEqual([]);
  });

  it('acknowledges nothing and leaves nothing when the folder cannot be listed', async () => {
    const { calls, phase, save } = await counted();
    calls.failing = true;

    const error = await rejected(save('writer'));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^listing p\/sessions\/s\/phase_1_concept failed \(EIO\)/);
    expect(calls.sync).toBe(1);
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);
    expect(await tempFiles(phase)).toEqual([]);
  });
});
