import { copyFileSync, linkSync, lstatSync, readFileSync, renameSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nodeFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { tempFiles } from '../durability/harness.js';
import { managers, managersOn } from '../helpers/base-dir.js';

// The file engine keeps a replaced version by linking that very file into history/ (see history.ts).
const REF = { project_id: 'p', session_id: 's' };
const PHASE = join('p', 'sessions', 's', 'phase_1_concept');

function output(content: string) {
  return { ...REF, phase_num: 1, agent_name: 'writer', output_content: content };
}

describe('history/ keeps the replaced file itself', () => {
  it('links the replaced version in: the same inode, bytes and time, while the current file is a new one', async () => {
    const { base, checkpoints } = await managers({ engine: 'file' });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    const first = lstatSync(join(base, PHASE, 'writer.md'));
    const firstBytes = readFileSync(join(base, PHASE, 'writer.md'));

    await checkpoints.saveAgentOutput(output('second\n'));

    const kept = lstatSync(join(base, PHASE, 'history', 'writer.v1.md'));
    expect(kept.ino).toBe(first.ino);
    expect(kept.mtimeMs).toBe(first.mtimeMs);
    expect(kept.nlink).toBe(1);
    expect(readFileSync(join(base, PHASE, 'history', 'writer.v1.md'))).toEqual(firstBytes);
    expect(lstatSync(join(base, PHASE, 'writer.md')).ino).not.toBe(first.ino);
    const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version: 1 });
    expect(page.content).toBe('first\n');
  });

  it('copies the replaced version where the file system refuses hard links, and numbers on', async () => {
    const refused: string[] = [];
    const fs = {
      ...nodeFs,
      // As FAT does: no second name for a document. Temporary files are linked to their numbers as before.
      linkSync: (from: Parameters<typeof linkSync>[0], to: Parameters<typeof linkSync>[1]) => {
        if (!basename(String(from)).startsWith('.')) {
          refused.push(basename(String(from)));
          throw Object.assign(new Error(`EPERM: operation not permitted, link '${String(from)}'`), {
            code: 'EPERM',
          });
        }
        linkSync(from, to);
      },
    };
    const { base, checkpoints } = await managers({ engine: 'file', store: { fs } });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    const times: number[] = [];
    for (const content of ['one\n', 'two\n', 'three\n']) {
      await checkpoints.saveAgentOutput(output(content));
      times.push(lstatSync(join(base, PHASE, 'writer.md')).mtimeMs);
    }

    expect(refused).toEqual(['writer.md', 'writer.md']);
    for (const [index, content] of ['one\n', 'two\n'].entries()) {
      const version = index + 1;
      const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version });
      expect(page.content).toBe(content);
      // A copy is given the time by utimes, to the millisecond.
      const kept = lstatSync(join(base, PHASE, 'history', `writer.v${version}.md`)).mtimeMs;
      expect(Math.abs(kept - (times[index] ?? 0))).toBeLessThan(1);
    }
    expect(await tempFiles(base)).toEqual([]);
  });

  it('where links are refused, a save that failed after copying the version does not copy it again', async () => {
    let failRename = false;
    const fs = {
      ...nodeFs,
      linkSync: (from: Parameters<typeof linkSync>[0], to: Parameters<typeof linkSync>[1]) => {
        if (!basename(String(from)).startsWith('.')) {
          throw Object.assign(new Error('EPERM: operation not permitted, link'), { code: 'EPERM' });
        }
        linkSync(from, to);
      },
      renameSync: (from: Parameters<typeof renameSync>[0], to: Parameters<typeof renameSync>[1]) => {
        if (failRename && basename(String(to)) === 'writer.md') {
          throw Object.assign(new Error('EIO: i/o error, rename'), { code: 'EIO' });
        }
        renameSync(from, to);
      },
    };
    const { checkpoints } = await managers({ engine: 'file', store: { fs } });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    failRename = true;
    await expect(checkpoints.saveAgentOutput(output('second\n'))).rejects.toMatchObject({ code: 'INTERNAL' });
    failRename = false;

    await checkpoints.saveAgentOutput(output('second\n'));

    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map((entry) => entry.version)).toEqual([1]);
    const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version: 1 });
    expect(page.content).toBe('first\n');
  });

  it('does not keep a version twice when the newest one already holds its bytes as a copy', async () => {
    const { base, reopen, checkpoints } = await managers({ engine: 'file' });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    await checkpoints.saveAgentOutput(output('second\n'));
    // A copy of the current file as the newest version: what a save left when it copied the version
    // (a file system without hard links, or a release before links) and then failed before its rename.
    copyFileSync(join(base, PHASE, 'writer.md'), join(base, PHASE, 'history', 'writer.v2.md'));

    // Another process, which knows nothing of what this one kept.
    await managersOn(await reopen()).checkpoints.saveAgentOutput(output('third\n'));

    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map((entry) => entry.version)).toEqual([1, 2]);
    const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version: 2 });
    expect(page.content).toBe('second\n');
  });

  it('keeps the next version as a link once the newest copy holds other bytes of the same size', async () => {
    const { base, reopen, checkpoints } = await managers({ engine: 'file' });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    await checkpoints.saveAgentOutput(output('other\n'));
    const current = lstatSync(join(base, PHASE, 'writer.md'));

    await managersOn(await reopen()).checkpoints.saveAgentOutput(output('third\n'));

    const kept = lstatSync(join(base, PHASE, 'history', 'writer.v2.md'));
    expect(kept.ino).toBe(current.ino);
    const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version: 1 });
    expect(page.content).toBe('first\n');
  });
});
