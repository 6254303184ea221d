import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYNC_LIST_BYTES, WATCH_FROM_BYTES } from '../../src/checkpoint/store/fs/fs-store.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempFiles } from '../durability/harness.js';
import { managers } from '../helpers/base-dir.js';
import { rejected } from '../helpers/errors.js';

// A new output's folder is read for a name that differs only in letter case: with a synchronous call
// while the folder is small, through the thread pool once it is large. Both must find a twin. Once read,
// a folder of more than a few hundred names is watched: a twin made after its listing, by anyone, must be
// found without reading it again.
const REF = { project_id: 'p', session_id: 's' };
const PHASE = ['p', 'sessions', 's', 'phase_1_concept'];

/** Managers whose store counts its folder listings by kind; readdirSync fails with EIO while `failing` is set. */
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
  // The saves' listings are counted, not those of create_session (a new session's folder is listed too).
  calls.sync = 0;
  calls.pooled = 0;
  const phase = join(m.base, ...PHASE);
  const save = (agent_name: string) =>
    m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name, output_content: `by ${agent_name}` });
  /** Fills the phase folder until it is watched once listed. */
  const fill = () => {
    for (let i = 0; i < 400; i++) writeFileSync(join(phase, `filler_${i}.txt`), '');
    expect(lstatSync(phase).size).toBeGreaterThan(WATCH_FROM_BYTES);
    expect(lstatSync(phase).size).toBeLessThanOrEqual(SYNC_LIST_BYTES);
  };
  return { ...m, calls, phase, save, fill };
}

describe('case twins on the file engine', () => {
  it('finds a hand-added twin in a small folder by listing it on each save of a new name', async () => {
    const { calls, phase, save } = await counted();
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');
    expect(lstatSync(phase).size).toBeLessThanOrEqual(WATCH_FROM_BYTES);

    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    expect(calls).toMatchObject({ sync: 1, pooled: 0 });
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);
    expect(await tempFiles(phase)).toEqual([]);

    await save('editor');
    writeFileSync(join(phase, 'Critic.md'), 'added by hand\n');
    expect((await rejected(save('critic'))).code).toBe('CONFLICT');
    expect(calls).toMatchObject({ sync: 3, pooled: 0 });
    expect(existsSync(join(phase, 'editor.md'))).toBe(true);
  });

  it('lists a larger folder once, then knows it', async () => {
    const { calls, phase, save, fill } = await counted();
    fill();
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');

    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    await save('editor');
    await save('critic');
    expect(calls).toMatchObject({ sync: 1, pooled: 0 });
    expect(existsSync(join(phase, 'editor.md'))).toBe(true);
    expect(existsSync(join(phase, 'critic.md'))).toBe(true);
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
    expect(calls).toMatchObject({ sync: 0, pooled: 1 });
    expect(existsSync(join(phase, 'editor.md'))).toBe(true);
    expect(await tempFiles(phase)).toEqual([]);
  });

  it('finds a twin made after the listing, by hand or by another process, without reading the folder again', async () => {
    const { calls, phase, save, fill } = await counted();
    fill();
    await save('first');
    expect(calls.sync).toBe(1);

    // Made just before the call, in the same turn of the event loop.
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');
    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    const made = spawnSync(process.execPath, [
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(join(phase, 'EDITOR.md'))}, 'x')`,
    ]);
    expect(made.status).toBe(0);
    expect((await rejected(save('Editor'))).code).toBe('CONFLICT');
    // A file moved in counts as one made.
    writeFileSync(join(phase, '..', 'Critic.md'), 'moved in\n');
    renameSync(join(phase, '..', 'Critic.md'), join(phase, 'Critic.md'));
    expect((await rejected(save('critic'))).code).toBe('CONFLICT');
    expect(calls).toMatchObject({ sync: 1, pooled: 0 });
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);
    expect(existsSync(join(phase, 'Editor.md'))).toBe(false);
    expect(existsSync(join(phase, 'critic.md'))).toBe(false);

    // A twin removed since is no twin.
    unlinkSync(join(phase, 'Writer.md'));
    await save('writer');
    expect(existsSync(join(phase, 'writer.md'))).toBe(true);
    expect(calls).toMatchObject({ sync: 1, pooled: 0 });
  });

  it('finds a twin in a phase folder removed and made again since it was listed', async () => {
    const { phase, save, fill } = await counted();
    fill();
    await save('first');
    rmSync(phase, { recursive: true });
    mkdirSync(phase);
    fill();
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');

    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);
  });

  it('acknowledges nothing and leaves nothing when the folder cannot be listed, and lists it again on the next save', async () => {
    const { calls, phase, save, fill } = await counted();
    fill();
    calls.failing = true;

    const error = await rejected(save('writer'));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^listing p\/sessions\/s\/phase_1_concept failed \(EIO\)/);
    expect(calls.sync).toBe(1);
    expect(existsSync(join(phase, 'writer.md'))).toBe(false);
    expect(await tempFiles(phase)).toEqual([]);

    calls.failing = false;
    writeFileSync(join(phase, 'Writer.md'), 'added by hand\n');
    expect((await rejected(save('writer'))).code).toBe('CONFLICT');
    expect(calls.sync).toBe(2);
  });
});
