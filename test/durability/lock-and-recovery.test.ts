import { spawnSync } from 'node:child_process';
import * as fsp from 'node:fs/promises';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { checkpointFile, sessionDir } from '../../src/checkpoint/model/paths.js';
import { PHASES, type PhaseDefinition } from '../../src/checkpoint/model/phases.js';
import { acquireLock, lockPathOf } from '../../src/checkpoint/store/fs/session-lock.js';
import { nodeFs, type StoreFs, sleep } from '../../src/checkpoint/store/fs/store-fs.js';
import { managers, tempDir } from '../helpers/base-dir.js';
import { ENGINE, editDocument, fileOnly, readDocument } from '../helpers/engine.js';
import { FaultyFs } from './fault-fs.js';
import { openDescriptors } from './harness.js';

const REF = { project_id: 'p', session_id: 's' };

// The file engine's lock file: PostgreSQL serialises a session with a row lock instead.
describe.skipIf(fileOnly('the lock file and its drafts'))('the session lock', () => {
  it('a lock won after a long wait is as fresh as its win, not as old as its wait', async () => {
    const path = lockPathOf(await tempDir());
    const options = { timeoutMs: 10_000, staleMs: 2_000 };
    const first = await acquireLock(nodeFs, path, 'session', options);
    const waiting = acquireLock(nodeFs, path, 'session', options);
    await sleep(1_500);
    await first.release();
    const second = await waiting;
    // Were the lock's age counted from when `second` began to wait, it would look stale within 500 ms.
    await expect(
      acquireLock(nodeFs, path, 'session', { ...options, timeoutMs: 1_000 }),
    ).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    });
    await second.assertHeld();
    await second.release();
  });

  it('each lock taken has a token of its own, in hex, as the orphan sweep recognises its leftovers', async () => {
    const path = lockPathOf(await tempDir());
    const options = { timeoutMs: 5_000, staleMs: 2_000 };
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) {
      const lock = await acquireLock(nodeFs, path, 'session', options);
      tokens.push(lock.token);
      await lock.release();
    }
    expect(new Set(tokens).size).toBe(tokens.length);
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{25,}$/);
  });

  it('a holder whose lock was taken over releases nothing: the new holder keeps its lock', async () => {
    const dir = await tempDir();
    const path = lockPathOf(dir);
    const options = { timeoutMs: 5_000, staleMs: 200 };
    const old = await acquireLock(nodeFs, path, 'session', options);
    await sleep(300);
    const taker = await acquireLock(nodeFs, path, 'session', options);
    await expect(old.assertHeld()).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
    await old.release();
    await taker.assertHeld();
    expect(await readdir(dir)).toEqual(['.lock']);
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ token: taker.token });
    await taker.release();
    expect(await readdir(dir)).toEqual([]);
  });

  it('a FIFO, a folder or an oversized file in the lock file place is never read as an owner, and is taken over once stale', async () => {
    const options = { timeoutMs: 5_000, staleMs: 200 };
    const hourAgo = new Date(Date.now() - 3_600_000);
    const plants: Record<string, (path: string) => Promise<void>> = {
      fifo: async (path) => {
        expect(spawnSync('mkfifo', [path]).status).toBe(0);
      },
      folder: (path) => mkdir(path),
      oversized: (path) => writeFile(path, `{"pid":1,"host":"x","token":"${'t'.repeat(70_000)}"}`),
    };
    for (const [kind, plant] of Object.entries(plants)) {
      const dir = await tempDir();
      const path = lockPathOf(dir);
      await plant(path);
      await utimes(path, hourAgo, hourAgo);
      // A FIFO opened for reading would wait for a writer forever: the read must not even begin.
      const lock = await acquireLock(nodeFs, path, 'session', options);
      await lock.assertHeld();
      expect(JSON.parse(await readFile(path, 'utf8')), kind).toMatchObject({ token: lock.token });
      await lock.release();
    }
  });

  it('a lock draft that cannot be written is removed, and the store reports INTERNAL', async () => {
    const faulty = new FaultyFs();
    const { store } = await managers({ store: { fs: faulty.fs } });
    await store.ensureDirectory(['p']);
    const dir = join(store.root, 'p');
    faulty.fault = { step: 'write', code: 'ENOSPC' };
    await expect(
      acquireLock(faulty.fs, lockPathOf(dir), 'p', { timeoutMs: 100, staleMs: 100 }),
    ).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    await expect(store.withLock(['p'], async () => 'never')).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await readdir(dir)).toEqual([]);
    faulty.fault = undefined;
    expect(await store.withLock(['p'], async () => 'now')).toBe('now');
  });
});

describe.skipIf(fileOnly('the lock file and its descriptor'))(
  'the held lock is known by its file, not its bytes',
  () => {
    it("a copy of the lock with the same owner and token in its place is not the holder's lock: nothing more is written, and the copy stays", async () => {
      const dir = await tempDir();
      const path = lockPathOf(dir);
      const lock = await acquireLock(nodeFs, path, 'session', { timeoutMs: 1_000, staleMs: 60_000 });
      const bytes = await readFile(path);
      // Someone restores the lock from a backup: the same owner, in another file.
      await fsp.unlink(path);
      await writeFile(path, bytes);

      await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
      await lock.release();
      expect(await readdir(dir)).toEqual(['.lock']);
      expect(await readFile(path)).toEqual(bytes);
    });

    it('a held lock keeps one descriptor open; release closes it once, never a file that took its number since', async () => {
      const dir = await tempDir();
      const path = lockPathOf(dir);
      const options = { timeoutMs: 1_000, staleMs: 60_000 };
      const before = openDescriptors();
      const lock = await acquireLock(nodeFs, path, 'session', options);
      expect(openDescriptors()).toBe(before + 1);
      // The draft's name is gone: the lock file is its only name.
      expect(await readdir(dir)).toEqual(['.lock']);

      await lock.release();
      expect(openDescriptors()).toBe(before);
      expect(await readdir(dir)).toEqual([]);
      // The number the lock had is given to the next file opened; a second release must leave that file open.
      const other = await fsp.open(join(dir, 'other'), 'w+');
      try {
        await lock.release();
        await other.write('still open');
        expect(await readFile(join(dir, 'other'), 'utf8')).toBe('still open');
      } finally {
        await other.close();
      }
    });

    it('a lock file removed by hand while held is LOCK_TIMEOUT at the next commit, and release leaves nothing behind', async () => {
      const dir = await tempDir();
      const path = lockPathOf(dir);
      const before = openDescriptors();
      const lock = await acquireLock(nodeFs, path, 'session', { timeoutMs: 1_000, staleMs: 60_000 });
      await fsp.unlink(path);

      await expect(lock.assertHeld()).rejects.toMatchObject({ code: 'LOCK_TIMEOUT' });
      await lock.release();
      expect(openDescriptors()).toBe(before);
      expect(await readdir(dir)).toEqual([]);
    });

    it('a waiter that gives up gives back its draft and its descriptor', async () => {
      const dir = await tempDir();
      const path = lockPathOf(dir);
      const options = { timeoutMs: 200, staleMs: 60_000 };
      const held = await acquireLock(nodeFs, path, 'session', options);
      const before = openDescriptors();

      await expect(acquireLock(nodeFs, path, 'session', options)).rejects.toMatchObject({
        code: 'LOCK_TIMEOUT',
      });
      expect(openDescriptors()).toBe(before);
      expect(await readdir(dir)).toEqual(['.lock']);
      await held.release();
    });

    it('a lock whose draft cannot be removed after it was linked is given back at once, with its descriptor', async () => {
      const dir = await tempDir();
      const path = lockPathOf(dir);
      const failing: StoreFs = {
        ...nodeFs,
        unlinkSync: (target) => {
          if (String(target).endsWith('.tmp')) throw Object.assign(new Error('EIO: unlink'), { code: 'EIO' });
          nodeFs.unlinkSync(target);
        },
      };
      const before = openDescriptors();
      await expect(
        acquireLock(failing, path, 'session', { timeoutMs: 1_000, staleMs: 60_000 }),
      ).rejects.toMatchObject({ code: 'EIO' });

      expect(openDescriptors()).toBe(before);
      // Only the draft the disk refused to remove is left: no lock blocks the next writer.
      expect((await readdir(dir)).filter((name) => !name.endsWith('.tmp'))).toEqual([]);
      const next = await acquireLock(nodeFs, path, 'session', { timeoutMs: 200, staleMs: 60_000 });
      await next.release();
    });
  },
);

describe('recovery on load', () => {
  it('load_session during a save in flight waits for it instead of rebuilding the manifest (Revision counts saves)', async () => {
    const { store, checkpoints } = await managers();
    await checkpoints.createSession({ ...REF, user_id: 'u', execution_mode: 'full' });
    // The load is another caller's: it starts from outside the locked action (its async context).
    let startLoad = () => {};
    const loading = new Promise<void>((resolve) => {
      startLoad = resolve;
    }).then(() => checkpoints.loadSession(REF));
    await store.withLock(sessionDir(REF), async (lock) => {
      // Half of a save_checkpoint: the checkpoint is renamed into place, the manifest not yet rewritten.
      const checkpoint = {
        phase_num: 1,
        phase_name: 'Concept Expansion',
        status: 'completed' as const,
        retry_count: 0,
        execution_mode: 'single' as const,
        updated: new Date().toISOString(),
        agents: [],
        errors: [],
        next_phase: 2,
      };
      await store.write(checkpointFile(REF, PHASES[0] as PhaseDefinition), renderCheckpoint(checkpoint), {
        lock,
      });
      startLoad();
      await sleep(200);
      await checkpoints.files.commit(REF, lock);
    });
    const { revision, completed_phases } = await loading;
    // The file engine shows the half-done save on disk, so its reader waits for the save to finish;
    // PostgreSQL never shows uncommitted writes, so its reader sees the session before the save or
    // after it. Either way nothing is rebuilt: the next load finds the save's revision, not one more.
    const after = { revision: 2, completed_phases: [1] };
    if (ENGINE === 'file') expect({ revision, completed_phases }).toEqual(after);
    else
      expect([{ revision: 1, completed_phases: [] }, after]).toContainEqual({ revision, completed_phases });
    expect(await checkpoints.loadSession(REF)).toMatchObject(after);
  });

  it('load_session rebuilds a manifest that disagrees with the checkpoints, one revision up', async () => {
    const m = await managers();
    const { checkpoints } = m;
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveCheckpoint({ ...REF, phase_num: 1, status: 'completed', agents: [] });
    const manifest = ['p', 'sessions', 's', 'session_manifest.md'];
    const text = await readDocument(m, ...manifest);
    const edited = text.replace(/(\|\s*1\s*\|\s*Concept Expansion\s*\|\s*)completed/, '$1failed   ');
    expect(edited).not.toBe(text);
    await editDocument(m, manifest, edited);
    expect(await checkpoints.loadSession(REF)).toMatchObject({ revision: 3, completed_phases: [1] });
  });

  it.skipIf(fileOnly('a temporary file of the atomic write'))(
    'load_session ignores a temporary file that its live writer renames away while the directory is swept',
    async () => {
      const vanishing: StoreFs = {
        ...nodeFs,
        lstat: (async (path: Parameters<typeof fsp.lstat>[0]) => {
          if (basename(String(path)).endsWith('.tmp'))
            throw Object.assign(new Error('ENOENT: gone'), { code: 'ENOENT' });
          return fsp.lstat(path);
        }) as typeof fsp.lstat,
      };
      const { store, checkpoints } = await managers({ store: { fs: vanishing } });
      await checkpoints.createSession({ ...REF, user_id: 'u' });
      const temp = join(
        store.root,
        'p',
        'sessions',
        's',
        'phase_1_concept',
        `.writer.md.${process.pid}.a1b2c3.tmp`,
      );
      await writeFile(temp, 'half');
      await expect(checkpoints.loadSession(REF)).resolves.toMatchObject({ revision: 1 });
      // The sweep that saw it go ends without a failure and reports nothing removed.
      await expect(checkpoints.orphanSweeps()).resolves.toStrictEqual([]);
    },
  );

  it.skipIf(fileOnly('temporary files and lock leftovers'))(
    "load_session answers before it sweeps the session for a dead writer's files, and sweeps it once",
    async () => {
      let openGate: () => void = () => undefined;
      // Open while the session is made (a new session's folder is listed for a case twin), shut after.
      let gate = Promise.resolve();
      const gated: StoreFs = {
        ...nodeFs,
        readdir: (async (...args: Parameters<typeof fsp.readdir>) => {
          await gate;
          return fsp.readdir(...args);
        }) as typeof fsp.readdir,
      };
      const { store, checkpoints } = await managers({ store: { fs: gated } });
      await checkpoints.createSession({ ...REF, user_id: 'u' });
      gate = new Promise<void>((resolve) => {
        openGate = resolve;
      });
      const session = join(store.root, 'p', 'sessions', 's');
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      const orphans = [
        join(session, 'phase_1_concept', `.writer.md.${dead}.a1b2c3.tmp`),
        join(session, `.session_manifest.md.${dead}.d4e5f6.tmp`),
        join(session, '.lock.stale-0123abcd'),
      ];
      for (const orphan of orphans) await writeFile(orphan, 'half');
      const long = new Date(Date.now() - 3_600_000);
      await utimes(orphans[2] as string, long, long);

      // Every listing waits at the gate: the answer does not.
      await expect(checkpoints.loadSession(REF)).resolves.toMatchObject({ revision: 1 });
      for (const orphan of orphans) expect(await readFile(orphan, 'utf8')).toBe('half');
      openGate();
      const removed = await checkpoints.orphanSweeps();
      expect(removed.map((label) => basename(label)).sort()).toStrictEqual(
        orphans.map((orphan) => basename(orphan)).sort(),
      );
      for (const orphan of orphans) await expect(readFile(orphan)).rejects.toMatchObject({ code: 'ENOENT' });

      // Once per session in this process: a later load leaves a new orphan to the start-up sweep.
      await writeFile(orphans[0] as string, 'half');
      await expect(checkpoints.loadSession(REF)).resolves.toMatchObject({ revision: 1 });
      await expect(checkpoints.orphanSweeps()).resolves.toStrictEqual([]);
      expect(await readFile(orphans[0] as string, 'utf8')).toBe('half');
    },
  );

  it.skipIf(fileOnly('temporary files'))(
    'a sweep that failed is made again by the next load_session',
    async () => {
      // Armed once the session is made (a new session's folder is listed for a case twin).
      let failures = 0;
      const failing: StoreFs = {
        ...nodeFs,
        readdir: (async (...args: Parameters<typeof fsp.readdir>) => {
          if (failures-- > 0) throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
          return fsp.readdir(...args);
        }) as typeof fsp.readdir,
      };
      const { store, checkpoints } = await managers({ store: { fs: failing } });
      await checkpoints.createSession({ ...REF, user_id: 'u' });
      failures = 1;
      const dead = spawnSync(process.execPath, ['-e', '']).pid;
      const orphan = join(
        store.root,
        'p',
        'sessions',
        's',
        'phase_1_concept',
        `.writer.md.${dead}.a1b2c3.tmp`,
      );
      await writeFile(orphan, 'half');

      // The load answers; its sweep's failure is kept for whoever waits on it, and not remembered as done.
      await expect(checkpoints.loadSession(REF)).resolves.toMatchObject({ revision: 1 });
      await expect(checkpoints.orphanSweeps()).rejects.toThrow(/^listing p\/sessions\/s failed \(EIO\)/);
      expect(await readFile(orphan, 'utf8')).toBe('half');
      await expect(checkpoints.loadSession(REF)).resolves.toMatchObject({ revision: 1 });
      expect((await checkpoints.orphanSweeps()).map((label) => basename(label))).toStrictEqual([
        basename(orphan),
      ]);
    },
  );
});
