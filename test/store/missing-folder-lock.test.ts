import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MissingFolderError } from '../../src/checkpoint/store/engine.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { tempDir } from '../helpers/base-dir.js';
import { openDocuments } from '../helpers/engine.js';

const SESSION = ['p1', 'sessions', 's1'];

// save_checkpoint and save_user_feedback learn that a session is missing from its lock alone: the
// lock must say so, run nothing and leave nothing behind (no lock row or file for a folder not there).
describe('withLock on a folder that is not there', () => {
  it('rejects with MissingFolderError, runs nothing, and leaves nothing behind', async () => {
    const documents = await openDocuments(join(await tempDir(), 'base'));
    const { store } = documents;
    await store.ensureDirectory(['p1', 'sessions']);
    let ran = false;
    const error = await store
      .withLock(SESSION, async () => {
        ran = true;
      })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MissingFolderError);
    expect(ran).toBe(false);
    expect(await store.exists(SESSION)).toBe(false);
    if (store instanceof PgStore) {
      const locks = await store.connections.query('SELECT path FROM checkpoint_locks');
      expect(locks.rows).toStrictEqual([]);
    } else {
      expect(await readdir(join(documents.base, 'p1', 'sessions'))).toStrictEqual([]);
    }
  });

  it('locks the folder once it is made, and runs the action', async () => {
    const { store } = await openDocuments(join(await tempDir(), 'base'));
    await store.ensureDirectory(SESSION);
    expect(await store.withLock(SESSION, async () => 'ran')).toBe('ran');
  });
});
