import { copyFileSync, linkSync, lstatSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
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

describe('a file put at the name while a save is under way (a person saving in an editor)', () => {
  /** An fs whose history links run `edit` right after linking the version they keep, `times` times. */
  function editingAfterLink(edit: (target: string) => void, times: number) {
    let left = 0;
    const fs = {
      ...nodeFs,
      linkSync: (from: Parameters<typeof linkSync>[0], to: Parameters<typeof linkSync>[1]) => {
        linkSync(from, to);
        if (left > 0 && basename(String(to)).startsWith('writer.v')) {
          left--;
          edit(String(from));
        }
      },
    };
    return { fs, arm: () => (left = times) };
  }

  /** What an editor does: the output's new body in a file of its own, renamed over the name. */
  const editorSaves = (body: string) => (target: string) => {
    const edited = readFileSync(target, 'utf8').replace(/## Output\n\n[\s\S]*$/, `## Output\n\n${body}`);
    writeFileSync(`${target}.editor`, edited);
    renameSync(`${target}.editor`, target);
  };

  it('keeps the edited version in history/ before putting the new one in place', async () => {
    const { fs, arm } = editingAfterLink(editorSaves('edited by hand\n'), 1);
    const { checkpoints } = await managers({ engine: 'file', store: { fs } });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    arm();
    await checkpoints.saveAgentOutput(output('second\n'));

    const page = (version?: number) =>
      checkpoints.getAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        ...(version ? { version } : {}),
      });
    expect(
      (await checkpoints.listHistory({ ...REF, phase_num: 1 })).versions.map((entry) => entry.version),
    ).toEqual([1, 2]);
    expect((await page(1)).content).toBe('first\n');
    expect((await page(2)).content).toBe('edited by hand\n');
    expect((await page()).content).toBe('second\n');
  });

  it('keeps the edited version when the history link itself met the editor’s rename (ENOENT), and saves', async () => {
    let race = false;
    const fs = {
      ...nodeFs,
      linkSync: (from: Parameters<typeof linkSync>[0], to: Parameters<typeof linkSync>[1]) => {
        if (race && basename(String(to)).startsWith('writer.v')) {
          race = false;
          // The editor's rename lands between the lookup of the name and the link: link() finds no file.
          editorSaves('edited by hand\n')(String(from));
          throw Object.assign(new Error(`ENOENT: no such file or directory, link '${String(from)}'`), {
            code: 'ENOENT',
          });
        }
        linkSync(from, to);
      },
    };
    const { checkpoints } = await managers({ engine: 'file', store: { fs } });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    race = true;
    await checkpoints.saveAgentOutput(output('second\n'));

    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    const contents = await Promise.all(
      versions.map(
        async ({ version }) =>
          (await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version })).content,
      ),
    );
    expect(contents).toContain('edited by hand\n');
    expect((await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' })).content).toBe(
      'second\n',
    );
  });

  it('gives up with CONFLICT when the name keeps changing, with every version it had kept and the new one not in place', async () => {
    let edits = 0;
    const { fs, arm } = editingAfterLink((target) => editorSaves(`edit ${++edits}\n`)(target), 100);
    const { base, checkpoints } = await managers({ engine: 'file', store: { fs } });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    arm();
    await expect(checkpoints.saveAgentOutput(output('second\n'))).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('kept changing while it was saved'),
    });
    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    const contents = await Promise.all(
      versions.map(
        async ({ version }) =>
          (await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version })).content,
      ),
    );
    // Every edit but the last is kept, and the last is the current file: nothing was lost.
    expect(contents).toEqual(['first\n', ...Array.from({ length: edits - 1 }, (_, i) => `edit ${i + 1}\n`)]);
    expect(
      readFileSync(join(base, PHASE, 'writer.md'), 'utf8').endsWith(`## Output\n\nedit ${edits}\n`),
    ).toBe(true);
    expect(await tempFiles(base)).toEqual([]);
  });
});

describe('a version kept by a save of another process that failed or crashed', () => {
  it('is not kept twice by a process that kept an earlier version itself', async () => {
    const { base, checkpoints } = await managers({ engine: 'file' });
    await checkpoints.createSession({ ...REF, user_id: 'u' });
    await checkpoints.saveAgentOutput(output('first\n'));
    await checkpoints.saveAgentOutput(output('second\n'));
    // What another process left when it was killed between keeping the current file and its rename.
    linkSync(join(base, PHASE, 'writer.md'), join(base, PHASE, 'history', 'writer.v2.md'));

    await checkpoints.saveAgentOutput(output('third\n'));

    const { versions } = await checkpoints.listHistory({ ...REF, phase_num: 1 });
    expect(versions.map((entry) => entry.version)).toEqual([1, 2]);
    const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', version: 2 });
    expect(page.content).toBe('second\n');
  });
});
