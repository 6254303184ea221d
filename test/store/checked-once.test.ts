import { join, sep } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import type { RelPath } from '../../src/checkpoint/store/engine.js';
import { tempDir } from '../helpers/base-dir.js';
import { fileOnly, openDocuments } from '../helpers/engine.js';

// Every lstat the file engine takes, by path: its path checks are synchronous lstats (fs-base.ts).
const seen = vi.hoisted(() => ({ lstats: [] as string[] }));
vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  return {
    ...actual,
    lstatSync: ((path: string, options?: object) => {
      seen.lstats.push(String(path));
      return actual.lstatSync(path, options as never);
    }) as typeof actual.lstatSync,
  };
});

const SESSION = ['p1', 'sessions', 's1'];
const PHASES = [1, 2, 3, 4, 5, 6, 7].map((num) => [...SESSION, `phase_${num}`]);
const CHECKPOINTS = PHASES.map((phase) => [...phase, 'checkpoint.md']);
const REVIEWS = PHASES.map((phase) => [...phase, 'user_feedback.md']);

/** How many lstats each path of the base got while `action` ran, by its path below the base. */
async function lstatsDuring(root: string, action: () => Promise<unknown>): Promise<Map<string, number>> {
  seen.lstats.length = 0;
  await action();
  const counts = new Map<string, number>();
  for (const path of seen.lstats) {
    if (!path.startsWith(root + sep)) continue;
    const rel = path.slice(root.length + 1);
    counts.set(rel, (counts.get(rel) ?? 0) + 1);
  }
  return counts;
}

async function session() {
  const { store } = await openDocuments(join(await tempDir(), 'base'));
  for (const [i, rel] of CHECKPOINTS.entries()) {
    await store.ensureDirectory(PHASES[i] as RelPath);
    await store.write(rel, `checkpoint ${i}\n`);
  }
  return store;
}

// The folders on the way to a session's documents are checked once per operation (a read of the
// session, a batch of reads), not once for each document: a session of 7 phases read whole took 70
// lstats, 3 of them for each document (project, sessions, session folder).
describe.skipIf(fileOnly('the file engine’s path checks'))('path checks once per operation', () => {
  it('readAll checks each folder its documents share once for the batch', async () => {
    const store = await session();
    const counts = await lstatsDuring(store.root, () => store.readAll(CHECKPOINTS, REVIEWS));
    for (const folder of [SESSION.slice(0, 1), SESSION.slice(0, 2), SESSION, ...PHASES]) {
      expect(counts.get(folder.join(sep)), folder.join('/')).toBe(1);
    }
    // Each review's own lstat: its modification time (the checkpoints are opened without one).
    for (const review of REVIEWS) expect(counts.get(review.join(sep)), review.join('/')).toBe(1);
  });

  it('within() checks each folder once for all the reads of the call, and each document itself every time', async () => {
    const store = await session();
    const reads = () =>
      Promise.all(CHECKPOINTS.map(async (rel) => [await store.read(rel), await store.modifiedMs(rel)]));
    const apart = await lstatsDuring(store.root, reads);
    const together = await lstatsDuring(store.root, () => store.within(SESSION, reads));
    // Alone, each read checks the folders again: this is what within() saves.
    expect(apart.get(SESSION.join(sep))).toBe(2 * CHECKPOINTS.length);
    expect(together.get(SESSION.join(sep))).toBe(1);
    for (const rel of CHECKPOINTS) expect(together.get(rel.join(sep)), rel.join('/')).toBe(1);
  });

  it('load_session checks the session folder once a call, not once per document', async () => {
    const { store } = await openDocuments(join(await tempDir(), 'base'));
    const manager = new CheckpointManager(store);
    const ref = { project_id: 'p1', session_id: 's1' };
    await manager.createSession({ ...ref, user_id: 'u', execution_mode: 'full' });
    for (let phase = 1; phase <= 7; phase++)
      await manager.saveCheckpoint({ ...ref, phase_num: phase, status: 'completed', agents: [] });
    // One look on the way for the whole call; before, the session's presence, its manifest and the
    // batch of its checkpoints and reviews each looked again.
    expect((await lstatsDuring(store.root, () => manager.loadSession(ref))).get(SESSION.join(sep))).toBe(1);
  });
});
