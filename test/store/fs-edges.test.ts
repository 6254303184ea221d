import { mkdirSync, type PathLike, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { openDescriptors, tempFiles } from '../durability/harness.js';
import { managers } from '../helpers/base-dir.js';
import type { TestStoreOptions } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

// The file engine's ground floor (fs-base.ts, fs-store.ts) at its edges: descriptors given back, folders
// flushed, folders made again, read and mkdir failures told apart from absence, the lock's timeout.
const REF = { project_id: 'p', session_id: 's' };
const SESSION = join('p', 'sessions', 's');
const PHASE = join(SESSION, 'phase_1_concept');

async function session(store: TestStoreOptions = {}) {
  const m = await managers({ engine: 'file', store });
  await m.checkpoints.createSession({ ...REF, user_id: 'u' });
  const save = (agent_name: string, output_content = `by ${agent_name}\n`) =>
    m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name, output_content });
  const read = (agent_name: string) => m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name });
  const checkpoint = (phase_num: number) =>
    m.checkpoints.saveCheckpoint({
      ...REF,
      phase_num,
      status: 'completed',
      agents: [{ agent_name: 'writer', status: 'completed' }],
    });
  return { ...m, save, read, checkpoint, at: (...names: string[]) => join(m.base, ...names) };
}

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

/** A store fs that records the path of every descriptor fsynced (through openSync's answers). */
function flushRecorder() {
  const pathOf = new Map<number, string>();
  const flushed: string[] = [];
  const fs: StoreFs = {
    ...nodeFs,
    openSync: ((path: PathLike, flags: number, mode?: number) => {
      const fd = nodeFs.openSync(path, flags, mode);
      pathOf.set(fd, String(path));
      return fd;
    }) as StoreFs['openSync'],
    fsync: (fd) => {
      flushed.push(pathOf.get(fd) ?? `fd ${fd}`);
      return nodeFs.fsync(fd);
    },
  };
  return { fs, flushed };
}

describe('the file engine at its edges', () => {
  it('gives back every descriptor it opens: saves, small and large reads, a checkpoint, a refused read', async () => {
    const { save, read, checkpoint, at } = await session();
    await save('writer');
    const before = openDescriptors();

    for (let n = 0; n < 5; n++) {
      await save('writer', `version ${n}\n`);
      await save(`agent_${n}`);
      await read('writer');
      await checkpoint(1);
    }
    await save('large', 'x'.repeat(300 * 1024));
    expect((await read('large')).content.length).toBeGreaterThan(0);
    mkdirSync(at(PHASE, 'folder.md'));
    expect((await rejected(read('folder'))).code).toBe('CORRUPT_FILE');

    expect(openDescriptors()).toBe(before);
  });

  it('flushes the folder of every document it puts in place, and a made folder in its parent', async () => {
    const { fs, flushed } = flushRecorder();
    const { save, at } = await session({ fs });
    await save('writer');
    rmSync(at(PHASE), { recursive: true });
    flushed.length = 0;

    // The phase folder removed by hand is made again: its new name is flushed in the session folder.
    await save('editor');

    expect(flushed).toContain(at(SESSION));
    expect(flushed).toContain(at(PHASE));
    expect(flushed.filter((path) => path.endsWith('.tmp'))).toHaveLength(1);
    expect(await tempFiles(at(PHASE))).toEqual([]);
  });

  it('flushes nothing when the store is not durable', async () => {
    const { fs, flushed } = flushRecorder();
    const { save, checkpoint } = await session({ fs, durable: false });
    await save('writer');
    await save('writer', 'again\n');
    await checkpoint(1);
    expect(flushed).toEqual([]);
  });

  it('makes a phase folder removed by hand again, and still finds a case twin there', async () => {
    const { save, read, at } = await session();
    await save('writer');
    rmSync(at(PHASE), { recursive: true });

    await save('editor');
    expect((await read('editor')).content).toBe('by editor\n');
    expect((await rejected(save('Editor'))).code).toBe('CONFLICT');
  });

  it('saves an existing output again beside a twin added by hand: only a new name is refused', async () => {
    const { save, read, at } = await session();
    await save('writer');
    writeFileSync(at(PHASE, 'Writer.md'), 'added by hand\n');

    await save('writer', 'second\n');

    expect((await read('writer')).content).toBe('second\n');
    expect((await rejected(save('WRITER'))).code).toBe('CONFLICT');
  });

  it('tells a read that failed from a document that is not there', async () => {
    let failing = false;
    const fs: StoreFs = {
      ...nodeFs,
      readSync: ((...args: Parameters<typeof nodeFs.readSync>) => {
        if (failing) throw errno('EIO');
        return nodeFs.readSync(...args);
      }) as StoreFs['readSync'],
    };
    const { save, read } = await session({ fs });
    await save('writer');
    failing = true;

    const error = await rejected(read('writer'));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^reading p\/sessions\/s\/phase_1_concept\/writer\.md failed \(EIO\)/);
    failing = false;
    expect((await rejected(read('nobody'))).code).toBe('NOT_FOUND');
  });

  it('fails with the disk error when a folder cannot be made, not as if it existed', async () => {
    let failing = false;
    const fs: StoreFs = {
      ...nodeFs,
      mkdir: (async (...args: Parameters<StoreFs['mkdir']>) => {
        if (failing && String(args[0]).endsWith('phase_1_concept')) throw errno('ENOSPC');
        return nodeFs.mkdir(...args);
      }) as StoreFs['mkdir'],
    };
    const { save, at } = await session({ fs });
    rmSync(at(PHASE), { recursive: true, force: true });
    failing = true;

    const error = await rejected(save('writer'));

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^creating p\/sessions\/s\/phase_1_concept failed \(ENOSPC\)/);
  });

  it('refuses to keep a version where a file stands in for history/, changing nothing', async () => {
    const { save, read, at } = await session();
    await save('writer');
    writeFileSync(at(PHASE, 'history'), 'not a folder\n');

    const error = await rejected(save('writer', 'second\n'));

    expect(error.code).toBe('CONFLICT');
    expect(error.message).toContain('p/sessions/s/phase_1_concept/history exists and is not a directory');
    expect((await read('writer')).content).toBe('by writer\n');
    expect(await tempFiles(at(PHASE))).toEqual([]);
  });

  it('names the whole path of a document it refuses as a link', async () => {
    const { save, read, at } = await session();
    await save('writer');
    rmSync(at(PHASE, 'writer.md'));
    symlinkSync(at(PHASE, 'elsewhere.md'), at(PHASE, 'writer.md'));

    const error = await rejected(read('writer'));

    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toContain('p/sessions/s/phase_1_concept/writer.md is a symbolic link');
  });

  it('answers healthy for its base directory', async () => {
    const { store } = await session();
    expect(await store.healthy()).toBe(true);
  });

  it('gives up on a lock a live holder keeps after the time it was given', async () => {
    const { checkpoint, at } = await session({ lockTimeoutMs: 300 });
    // This very process, alive, holding the session's lock since now.
    const owner = { pid: process.pid, host: (await import('node:os')).hostname(), token: 'held-elsewhere' };
    writeFileSync(
      at(SESSION, '.lock'),
      `${JSON.stringify({ ...owner, acquired: new Date().toISOString() })}\n`,
    );

    const started = Date.now();
    const error = await rejected(checkpoint(1));

    expect(error.code).toBe('LOCK_TIMEOUT');
    expect(error.message).toContain('waited 300 ms');
    // Well short of the default wait of 10 s.
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

describe('a system call refused for what stands at a name, not for the disk', () => {
  it('a directory where the manifest goes is CORRUPT_FILE naming it, in load_session and list_sessions alike', async () => {
    const m = await session();
    await m.checkpoints.createSession({ ...REF, session_id: 'other', user_id: 'u' });
    rmSync(m.at(SESSION, 'session_manifest.md'));
    mkdirSync(m.at(SESSION, 'session_manifest.md'));
    const error = await rejected(m.checkpoints.loadSession(REF));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toContain('p/sessions/s/session_manifest.md');
    expect(error.message).toContain('Move the directory away');
    // As a session whose documents cannot be read at all is: the listing names the file to fix.
    const listing = await rejected(m.checkpoints.listSessions({ project_id: 'p' }));
    expect(listing.code).toBe('CORRUPT_FILE');
    expect(listing.message).toContain('p/sessions/s/session_manifest.md');
  });

  it('a refused permission says so and what to fix, not a disk problem', async () => {
    const denied = { path: '' };
    const fs: StoreFs = {
      ...nodeFs,
      openSync: ((path: PathLike, ...rest: unknown[]) => {
        if (denied.path !== '' && String(path) === denied.path) throw errno('EACCES');
        return (nodeFs.openSync as (...args: unknown[]) => number)(path, ...rest);
      }) as StoreFs['openSync'],
    };
    const m = await session({ fs });
    await m.save('writer');
    denied.path = m.at(PHASE, 'writer.md');
    const error = await rejected(m.read('writer'));
    expect(error.code).toBe('INTERNAL');
    expect(error.message).toBe(
      "reading p/sessions/s/phase_1_concept/writer.md failed (EACCES); nothing was acknowledged and the previous version is intact. Call the tool again once this server's user may read and write it again (its permissions or owner were changed, say by chmod)",
    );
  });
});
