import { lstatSync, mkdirSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FolderNames, NAMES_TRUST_MS } from '../../src/checkpoint/store/fs/folder-names.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempDir } from '../helpers/base-dir.js';

// FolderNames on its own: when a folder's names are read again, and when its watch is let go. The
// watches here are recorded, not the file system's, so that each event is the test's to send.

/** A FolderNames whose watches are recorded. */
function recorded(trustMs = NAMES_TRUST_MS, options: { unwatchable?: boolean } = {}) {
  const watches: Array<{ path: string; send: (name: string | undefined) => void; closed: boolean }> = [];
  const fs: StoreFs = {
    ...nodeFs,
    watchFolder: (path, onName) => {
      if (options.unwatchable) throw Object.assign(new Error('ENOSPC: injected'), { code: 'ENOSPC' });
      const watch = { path, send: onName, closed: false };
      watches.push(watch);
      return {
        close: () => {
          watch.closed = true;
        },
      };
    },
  };
  const names = new FolderNames(fs, trustMs);
  return { names, watches };
}

/** A folder on disk with `files` in it, and a listing of it that counts its calls. */
async function folder(files: string[] = []) {
  const path = join(await tempDir(), 'phase_1_concept');
  mkdirSync(path);
  for (const file of files) writeFileSync(join(path, file), '');
  const listed = { count: 0 };
  const list = async () => {
    listed.count++;
    return nodeFs.readdirSync(path);
  };
  return { path, stat: lstatSync(path), list, listed };
}

describe('FolderNames', () => {
  it('lists a folder once, then knows the names its watch reports; a name gone since is no twin', async () => {
    const { names, watches } = recorded();
    const f = await folder(['Writer.md']);
    expect(await names.twinOf(f.path, 'writer.md', f.stat, f.list)).toBe('Writer.md');
    writeFileSync(join(f.path, 'EDITOR.md'), '');
    watches[0]?.send('EDITOR.md');
    expect(await names.twinOf(f.path, 'editor.md', f.stat, f.list)).toBe('EDITOR.md');
    // Reported, then removed: the lstat that confirms a twin finds nothing.
    watches[0]?.send('Critic.md');
    expect(await names.twinOf(f.path, 'critic.md', f.stat, f.list)).toBeUndefined();
    // Dot names (temporary files) are never twins, and the name itself is none.
    writeFileSync(join(f.path, '.Reviewer.md'), '');
    watches[0]?.send('.Reviewer.md');
    expect(await names.twinOf(f.path, '.reviewer.md', f.stat, f.list)).toBeUndefined();
    expect(await names.twinOf(f.path, 'Writer.md', f.stat, f.list)).toBeUndefined();
    expect(f.listed.count).toBe(1);
    expect(watches).toHaveLength(1);
  });

  it('keeps every name of the same letters: a twin is found while any of them is left', async () => {
    for (const removed of ['Writer.md', 'WRITER.md']) {
      const { names, watches } = recorded();
      const f = await folder(['Writer.md']);
      expect(await names.twinOf(f.path, 'writer.md', f.stat, f.list)).toBe('Writer.md');
      writeFileSync(join(f.path, 'WRITER.md'), '');
      watches[0]?.send('WRITER.md');
      watches[0]?.send('WRITER.md');
      unlinkSync(join(f.path, removed));
      const left = removed === 'Writer.md' ? 'WRITER.md' : 'Writer.md';
      expect(await names.twinOf(f.path, 'writer.md', f.stat, f.list)).toBe(left);
      expect(f.listed.count).toBe(1);
    }
  });

  it('lists the folder again when its watch reports the folder itself (removed or moved) or fails', async () => {
    const { names, watches } = recorded();
    const f = await folder();
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    watches[0]?.send(basename(f.path));
    expect(watches[0]?.closed).toBe(true);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(2);
    watches[1]?.send(undefined);
    expect(watches[1]?.closed).toBe(true);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(3);
    // A report from a watch let go changes nothing.
    watches[1]?.send(undefined);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(3);
  });

  it('lists the folder again when another folder is at its path', async () => {
    const { names, watches } = recorded();
    const f = await folder();
    const other = await folder(['Writer.md']);
    await names.twinOf(f.path, 'writer.md', f.stat, f.list);
    // Another folder is moved to its path (as when a parent folder is replaced): no watch of it saw that.
    renameSync(f.path, `${f.path}-before`);
    renameSync(other.path, f.path);
    expect(await names.twinOf(f.path, 'writer.md', lstatSync(f.path), f.list)).toBe('Writer.md');
    expect(f.listed.count).toBe(2);
    expect(watches[0]?.closed).toBe(true);
  });

  it('trusts a listing for trustMs only, and lets its watch go then', async () => {
    const { names, watches } = recorded(200);
    const f = await folder();
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watches[0]?.closed).toBe(true);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(2);
    // Past the trust time while the event loop was held up: the timer has not run yet when the call
    // comes, and runs in the poll the call waits for.
    const until = performance.now() + 250;
    while (performance.now() < until);
    expect(watches[1]?.closed).toBe(false);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(3);
    expect(watches.map((watch) => watch.closed)).toEqual([true, true, false]);
  });

  it('lists a folder it cannot watch on every call', async () => {
    const { names } = recorded(NAMES_TRUST_MS, { unwatchable: true });
    const f = await folder(['Writer.md']);
    expect(await names.twinOf(f.path, 'writer.md', f.stat, f.list)).toBe('Writer.md');
    expect(await names.twinOf(f.path, 'writer.md', f.stat, f.list)).toBe('Writer.md');
    expect(f.listed.count).toBe(2);
  });

  it('watches 64 folders at most, letting go the one used least recently', async () => {
    const { names, watches } = recorded();
    const folders = [];
    for (let i = 0; i < 65; i++) folders.push(await folder());
    for (const f of folders.slice(0, 64)) await names.twinOf(f.path, 'a.md', f.stat, f.list);
    // Each is used again in turn, then the first once more: the second is now the least recently used.
    const [first, second, ...rest] = folders;
    if (first === undefined || second === undefined) throw new Error('no folders');
    for (const f of folders.slice(0, 64)) await names.twinOf(f.path, 'a.md', f.stat, f.list);
    await names.twinOf(first.path, 'a.md', first.stat, first.list);
    const last = rest.at(-1);
    if (last === undefined) throw new Error('no last folder');
    await names.twinOf(last.path, 'a.md', last.stat, last.list);
    expect(watches.filter((watch) => watch.closed).map((watch) => watch.path)).toEqual([second.path]);
    await names.twinOf(first.path, 'a.md', first.stat, first.list);
    await names.twinOf(second.path, 'a.md', second.stat, second.list);
    expect([first.listed.count, second.listed.count]).toEqual([1, 2]);
    names.close();
    expect(watches.every((watch) => watch.closed)).toBe(true);
  });

  it('has a call made while the first listing is under way wait for it', async () => {
    const { names } = recorded();
    const f = await folder(['Writer.md']);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = async () => {
      await gate;
      return f.list();
    };
    const first = names.twinOf(f.path, 'writer.md', f.stat, slow);
    const second = names.twinOf(f.path, 'WRITER.md', f.stat, slow);
    release();
    expect(await Promise.all([first, second])).toEqual(['Writer.md', 'Writer.md']);
    expect(f.listed.count).toBe(1);
  });

  it('lets go of a folder whose listing failed, and gives the failure to the call', async () => {
    const { names, watches } = recorded();
    const f = await folder();
    const failing = async (): Promise<string[]> => {
      throw Object.assign(new Error('EIO: injected'), { code: 'EIO' });
    };
    await expect(names.twinOf(f.path, 'a.md', f.stat, failing)).rejects.toMatchObject({ code: 'EIO' });
    expect(watches[0]?.closed).toBe(true);
    await names.twinOf(f.path, 'a.md', f.stat, f.list);
    expect(f.listed.count).toBe(1);
  });
});
