import {
  existsSync,
  linkSync,
  mkdirSync,
  type PathLike,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs, OPEN_DIRECTORY, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempFiles } from '../durability/harness.js';
import { managers } from '../helpers/base-dir.js';
import { rejected } from '../helpers/errors.js';

// What history.ts does at its edges: what else lies in history/, versions removed by hand, link()
// failing in each way, and the copy path's own failures. Each case names the rule it holds.
const REF = { project_id: 'p', session_id: 's' };
const PHASE = join('p', 'sessions', 's', 'phase_1_concept');
const WRITER = ['p', 'sessions', 's', 'phase_1_concept', 'writer.md'];

/** Managers on the file engine with a session, and `fs` under the store. */
async function session(fs: StoreFs = nodeFs) {
  const m = await managers({ engine: 'file', store: { fs } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u' });
  const at = (...names: string[]) => join(m.base, PHASE, ...names);
  const save = (content: string) =>
    m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: content });
  const versions = async () => (await m.store.history(WRITER)).map((version) => version.version);
  /** The output as saved: the current one, or `version` from history/. */
  const content = async (version?: number) =>
    (
      await m.checkpoints.getAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        ...(version !== undefined && { version }),
      })
    ).content;
  return { ...m, at, save, versions, content };
}

const isDocument = (path: PathLike) => basename(String(path)) === 'writer.md';

function errno(code: string): Error {
  return Object.assign(new Error(`${code}: injected`), { code });
}

describe('history/ at its edges', () => {
  it('numbers and lists versions by number, past names that are not versions', async () => {
    const { at, save, versions, content } = await session();
    await save('v0\n');
    mkdirSync(at('history'));
    // A folder with a version's name, and a file of a person's: neither is a version.
    mkdirSync(at('history', 'writer.v9.md'));
    writeFileSync(at('history', 'notes.txt'), 'kept by hand\n');
    for (let n = 1; n <= 11; n++) await save(`v${n}\n`);

    expect(await versions()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
    expect(await content(1)).toBe('v0\n');
    expect(await content(12)).toBe('v10\n');
    expect(readFileSync(at('history', 'notes.txt'), 'utf8')).toBe('kept by hand\n');
  });

  it('keeps the next version when the newest this process kept was removed by hand', async () => {
    const { at, save, versions, content } = await session();
    for (const content of ['one\n', 'two\n', 'three\n']) await save(content);
    unlinkSync(at('history', 'writer.v2.md'));

    await save('four\n');

    expect(await versions()).toEqual([1, 3]);
    expect(await content(3)).toBe('three\n');
    expect(await content()).toBe('four\n');
  });

  it('keeps a version even when a version 0 left by hand holds the same bytes', async () => {
    const { at, save, versions, content } = await session();
    await save('same\n');
    mkdirSync(at('history'));
    writeFileSync(at('history', 'writer.v0.md'), readFileSync(at('writer.md')));

    await save('next\n');

    expect(await versions()).toEqual([0, 1]);
    expect(await content(1)).toBe('same\n');
  });

  it('lists history/ once per process and flushes it after each version linked in', async () => {
    const listed: string[] = [];
    const flushed: string[] = [];
    const fs: StoreFs = {
      ...nodeFs,
      readdir: ((...args: Parameters<StoreFs['readdir']>) => {
        listed.push(basename(String(args[0])));
        return nodeFs.readdir(...args);
      }) as StoreFs['readdir'],
      openSync: ((path: PathLike, flags: number, mode?: number) => {
        if (flags === OPEN_DIRECTORY) flushed.push(basename(String(path)));
        return nodeFs.openSync(path, flags, mode);
      }) as StoreFs['openSync'],
    };
    const { save, versions } = await session(fs);
    await save('one\n');
    listed.length = 0;
    flushed.length = 0;

    for (const content of ['two\n', 'three\n', 'four\n']) await save(content);
    const saved = { listed: [...listed], flushed: [...flushed] };

    expect(await versions()).toEqual([1, 2, 3]);
    // The first keeping looks for versions another process kept; the later ones know the number.
    expect(saved.listed.filter((name) => name === 'history')).toEqual(['history']);
    // Every version linked in is flushed before the save that replaced it is acknowledged.
    expect(saved.flushed.filter((name) => name === 'history')).toHaveLength(3);
  });

  it('fails the save, changing nothing, when link() fails for another reason than a refusal', async () => {
    let failing = false;
    const fs: StoreFs = {
      ...nodeFs,
      linkSync: (from, to) => {
        if (failing && isDocument(from)) throw errno('EIO');
        linkSync(from, to);
      },
    };
    const { base, at, save, versions, content } = await session(fs);
    await save('one\n');
    failing = true;

    const error = await rejected(save('two\n'));

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/\(EIO\)/);
    expect(await content()).toBe('one\n');
    expect(await versions()).toEqual([]);
    expect(await tempFiles(base)).toEqual([]);
    failing = false;
    await save('two\n');
    expect(await versions()).toEqual([1]);
    expect(existsSync(at('history', 'writer.v1.md'))).toBe(true);
  });

  it('fails on a link() error other than ENOENT even when the document is gone, and saves when ENOENT says it is', async () => {
    let fault: string | undefined;
    const fs: StoreFs = {
      ...nodeFs,
      // A person removes the document just as its version is linked.
      linkSync: (from, to) => {
        if (fault !== undefined && isDocument(from)) {
          rmSync(from);
          if (fault !== 'ENOENT') throw errno(fault);
        }
        linkSync(from, to);
      },
    };
    const { base, save, versions, content } = await session(fs);
    await save('one\n');

    fault = 'EIO';
    expect((await rejected(save('two\n'))).code).toBe('INTERNAL');
    expect(await tempFiles(base)).toEqual([]);

    await save('again\n');
    fault = 'ENOENT';
    await save('three\n');
    // Nothing was left to keep: the removed version is gone, the new one is in place.
    expect(await content()).toBe('three\n');
    expect(await versions()).toEqual([]);
    expect(await tempFiles(base)).toEqual([]);
  });

  it('where links are refused, saves with nothing kept when the document vanished before its copy', async () => {
    const fs: StoreFs = {
      ...nodeFs,
      linkSync: (from, to) => {
        if (isDocument(from)) {
          rmSync(from);
          throw errno('EPERM');
        }
        linkSync(from, to);
      },
    };
    const { base, save, versions, content } = await session(fs);
    await save('one\n');

    await save('two\n');

    expect(await content()).toBe('two\n');
    expect(await versions()).toEqual([]);
    expect(await tempFiles(base)).toEqual([]);
  });

  it('where links are refused, names history/ when the copy cannot be written', async () => {
    let failing = false;
    const fs: StoreFs = {
      ...nodeFs,
      linkSync: (from, to) => {
        if (isDocument(from)) throw errno('EPERM');
        linkSync(from, to);
      },
      openSync: ((path: PathLike, flags: number, mode?: number) => {
        if (failing && String(path).includes(`${join('history', '.writer')}`)) throw errno('ENOSPC');
        return nodeFs.openSync(path, flags, mode);
      }) as StoreFs['openSync'],
    };
    const { base, save, versions, content } = await session(fs);
    await save('one\n');
    failing = true;

    const error = await rejected(save('two\n'));

    expect(error.code).toBe('INTERNAL');
    expect(error.message).toMatch(/^writing p\/sessions\/s\/phase_1_concept\/history failed \(ENOSPC\)/);
    expect(await content()).toBe('one\n');
    expect(await versions()).toEqual([]);
    expect(await tempFiles(base)).toEqual([]);
  });
});
