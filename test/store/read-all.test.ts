import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Engine, RelPath } from '../../src/checkpoint/store/engine.js';
import { tempDir } from '../helpers/base-dir.js';
import { openDocuments } from '../helpers/engine.js';

const PHASE = ['p1', 'sessions', 's1', 'phase_1_concept'];
const CHECKPOINT = [...PHASE, 'checkpoint.md'];
const REVIEW = [...PHASE, 'user_feedback.md'];
const OUTPUT = [...PHASE, 'writer.md'];
const MISSING = [...PHASE, 'critic.md'];

/** What readIdentified and modifiedMs say of `rel`, one call each: what readAll must agree with. */
async function alone(store: Engine, rel: RelPath) {
  const read = await store.readIdentified(rel);
  const modifiedMs = await store.modifiedMs(rel);
  return read && modifiedMs !== undefined ? { ...read, modifiedMs } : undefined;
}

// readAll is how a session's phases are read in one go: it must give exactly what the one-by-one
// reads give, in the order asked, with a gap where a document is missing.
describe('readAll', () => {
  async function setup() {
    const { store } = await openDocuments(join(await tempDir(), 'base'));
    await store.ensureDirectory(PHASE);
    await store.write(CHECKPOINT, 'checkpoint, first\n', { keepHistory: true });
    await store.write(CHECKPOINT, 'checkpoint, second\n', { keepHistory: true });
    await store.write(OUTPUT, 'output\n');
    await store.write(REVIEW, 'review\n');
    return store;
  }

  it('gives each document as readIdentified and modifiedMs do, in order, undefined where missing', async () => {
    const store = await setup();
    const asked = [OUTPUT, MISSING, CHECKPOINT, OUTPUT];
    const timed = [REVIEW, MISSING, CHECKPOINT];
    const { documents, modified } = await store.readAll(asked, timed);
    expect(documents).toStrictEqual(await Promise.all(asked.map((rel) => alone(store, rel))));
    expect(documents.map((document) => document?.text)).toStrictEqual([
      'output\n',
      undefined,
      'checkpoint, second\n',
      'output\n',
    ]);
    expect(modified).toStrictEqual(await Promise.all(timed.map((rel) => store.modifiedMs(rel))));
    expect(modified[0]).toEqual(expect.any(Number));
    expect(modified[1]).toBeUndefined();
  });

  it('reads a document past the size read at once whole, between small ones, as readIdentified does', async () => {
    const store = await setup();
    // Beyond SYNC_READ_BYTES (256 KiB): read through the thread pool on the file engine.
    const large = `${'review line\n'.repeat(40_000)}end\n`;
    await store.write(REVIEW, large);
    const asked = [CHECKPOINT, REVIEW, OUTPUT];
    const { documents } = await store.readAll(asked, []);
    expect(documents.map((document) => document?.text)).toStrictEqual([
      'checkpoint, second\n',
      large,
      'output\n',
    ]);
    expect(documents).toStrictEqual(await Promise.all(asked.map((rel) => alone(store, rel))));
  });

  it('sees a rewrite at once: the identity and the text change', async () => {
    const store = await setup();
    const before = (await store.readAll([OUTPUT], [])).documents[0];
    await store.write(OUTPUT, 'output, rewritten\n');
    const after = (await store.readAll([OUTPUT], [])).documents[0];
    expect(after?.text).toBe('output, rewritten\n');
    expect(after?.identity).not.toBe(before?.identity);
  });

  it('reads a kept version beside documents, as read does', async () => {
    const store = await setup();
    const kept = store.historyFile(CHECKPOINT, 1);
    const { documents } = await store.readAll([kept, CHECKPOINT], [CHECKPOINT]);
    expect(documents.map((document) => document?.text)).toStrictEqual([
      'checkpoint, first\n',
      'checkpoint, second\n',
    ]);
    expect(documents[0]?.text).toBe(await store.read(kept));
  });

  it('inside a locked action, sees what that action wrote', async () => {
    const store = await setup();
    const seen = await store.withLock(['p1', 'sessions', 's1'], async (lock) => {
      await store.write(OUTPUT, 'output, under the lock\n', { lock });
      await store.write(MISSING, 'critic, new\n', { lock });
      return store.readAll([OUTPUT, MISSING], [MISSING]);
    });
    expect(seen.documents.map((document) => document?.text)).toStrictEqual([
      'output, under the lock\n',
      'critic, new\n',
    ]);
    expect(seen.modified[0]).toBe(await store.modifiedMs(MISSING));
  });

  it('asked for nothing, gives nothing', async () => {
    const store = await setup();
    expect(await store.readAll([], [])).toStrictEqual({ documents: [], modified: [] });
  });
});
