import { constants, symlinkSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { seed } from './corpus.js';
import { call, codeOf, openSandbox, resultText, type Sandbox, treeListing } from './sandbox.js';

const SESSION = { project_id: 'proj', session_id: 's1' } as const;
const PHASE_1 = 'proj/sessions/s1/phase_1_concept';
const SUCCESS = 'SUCCESS';
/** A validator's answer: is_valid false, with an error naming the link. */
const REPORTED = 'REPORTED';

interface Expected {
  tool: string;
  args: Record<string, unknown>;
  /**
   * An error code, SUCCESS where the link is skipped or set aside without being followed, or REPORTED
   * where a validator lists it among the errors of the phase or session.
   */
  code: string;
}

interface Destination {
  kind: string;
  /** Where the link is planted, relative to the base; whatever the setup put there is removed first. */
  at: string;
  /** What the live link points to, relative to canary/. */
  target: string;
  /** Setup beyond the seed, before the link is planted. */
  prepare?: (sandbox: Sandbox) => Promise<void>;
  calls: Expected[];
}

/** A link met in the tree is damaged storage: CORRUPT_FILE naming the link, never a read through it. */
const refused = (tool: string, args: Record<string, unknown>): Expected => ({
  tool,
  args,
  code: 'CORRUPT_FILE',
});
const passes = (tool: string, args: Record<string, unknown>): Expected => ({ tool, args, code: SUCCESS });
const reported = (tool: string, args: Record<string, unknown>): Expected => ({ tool, args, code: REPORTED });
const phase = (phase_num: number, extra: Record<string, unknown> = {}) => ({
  ...SESSION,
  phase_num,
  ...extra,
});
const saveOutput = (phase_num: number, agent_name: string, output_content = 'new text') =>
  phase(phase_num, { agent_name, output_content });
const checkpoint = (phase_num: number, agents = ['Writer']) =>
  phase(phase_num, {
    status: 'in_progress',
    agents: agents.map((agent_name) => ({ agent_name, status: 'completed' })),
  });
const feedback = (phase_num: number) =>
  phase(phase_num, { reviewed: true, approved: false, comments: 'again' });

/**
 * Every tool that reads or writes inside a session. validate_session reports a link inside the
 * session's folder as an error of the session; a link above it leaves no session to validate.
 */
const sessionReaders = (ref: Record<string, unknown>, linkInside = true) =>
  [
    'load_session',
    'get_approved_phases',
    'get_phase_outputs',
    'validate_session',
    'resume_session',
    'export_session',
  ].map((tool) => (tool === 'validate_session' && linkInside ? reported(tool, ref) : refused(tool, ref)));

const DESTINATIONS: Destination[] = [
  {
    kind: 'a project directory',
    at: 'evilp',
    target: 'tree',
    calls: [
      refused('get_project', { project_id: 'evilp' }),
      refused('create_project', { user_id: 'u1', startup_idea: 'x', project_id: 'evilp' }),
      // The slug of the name is the link's name: claiming it must not go through the link.
      refused('create_project', { user_id: 'u1', startup_idea: 'x', project_name: 'EvilP' }),
      refused('archive_project', { project_id: 'evilp' }),
      refused('start_session', { project_id: 'evilp' }),
      refused('create_session', { project_id: 'evilp', session_id: 's1', user_id: 'u1' }),
      refused('list_sessions', { project_id: 'evilp' }),
      refused('save_agent_output', { ...saveOutput(1, 'A'), project_id: 'evilp' }),
      ...sessionReaders({ project_id: 'evilp', session_id: 's1' }, false),
      passes('list_projects', {}),
    ],
  },
  {
    kind: 'a sessions directory',
    at: 'proj2/sessions',
    target: 'tree/sessions',
    prepare: async ({ client }) => {
      await callOk(client, 'create_project', { user_id: 'u1', startup_idea: 'x', project_id: 'proj2' });
    },
    calls: [
      refused('create_session', { project_id: 'proj2', session_id: 's1', user_id: 'u1' }),
      refused('start_session', { project_id: 'proj2' }),
      refused('list_sessions', { project_id: 'proj2' }),
      ...sessionReaders({ project_id: 'proj2', session_id: 's1' }, false),
    ],
  },
  {
    kind: 'a session directory',
    at: 'proj/sessions/s2',
    target: 'tree/sessions/s1',
    calls: [
      refused('create_session', { project_id: 'proj', session_id: 's2', user_id: 'u1' }),
      refused('save_checkpoint', { ...checkpoint(1), session_id: 's2' }),
      refused('save_agent_output', { ...saveOutput(1, 'Writer'), session_id: 's2' }),
      refused('save_user_feedback', { ...feedback(1), session_id: 's2' }),
      refused('get_agent_output', { ...phase(1, { agent_name: 'Writer' }), session_id: 's2' }),
      refused('list_history', { ...phase(1), session_id: 's2' }),
      refused('validate_checkpoint', { ...phase(1), session_id: 's2' }),
      ...sessionReaders({ project_id: 'proj', session_id: 's2' }, false),
      passes('list_sessions', { project_id: 'proj' }),
    ],
  },
  {
    kind: 'a phase directory',
    at: 'proj/sessions/s1/phase_2_market_research',
    target: 'tree/phase_1_concept',
    calls: [
      refused('save_agent_output', saveOutput(2, 'Writer')),
      refused('save_checkpoint', checkpoint(2)),
      refused('save_user_feedback', feedback(2)),
      refused('get_agent_output', phase(2, { agent_name: 'Writer' })),
      refused('list_history', phase(2)),
      reported('validate_checkpoint', phase(2)),
      refused('get_phase_outputs', { ...SESSION, phase_nums: [2] }),
      ...sessionReaders(SESSION),
    ],
  },
  {
    kind: 'an agent output file',
    at: `${PHASE_1}/evil.md`,
    target: 'evil.md',
    prepare: async ({ client }) => {
      await callOk(client, 'save_agent_output', saveOutput(1, 'evil', 'the real one'));
      await callOk(client, 'save_checkpoint', checkpoint(1, ['Writer', 'evil']));
    },
    calls: [
      refused('save_agent_output', saveOutput(1, 'evil')),
      refused('get_agent_output', phase(1, { agent_name: 'evil' })),
      refused('get_agent_output', phase(1, { agent_name: 'evil', version: 1 })),
      // The link is listed under its name, so a case twin still collides with it.
      { tool: 'save_agent_output', args: saveOutput(1, 'EVIL'), code: 'CONFLICT' },
      reported('validate_checkpoint', phase(1)),
      reported('validate_session', SESSION),
      // Readers that list the phase take only regular files: the link is skipped, not followed.
      passes('get_phase_outputs', { ...SESSION, phase_nums: [1] }),
      passes('resume_session', SESSION),
      passes('export_session', SESSION),
      passes('list_history', phase(1)),
    ],
  },
  {
    kind: 'checkpoint.md',
    at: `${PHASE_1}/checkpoint.md`,
    target: 'checkpoint.md',
    calls: [
      refused('save_checkpoint', checkpoint(1)),
      refused('save_user_feedback', feedback(1)),
      reported('validate_checkpoint', phase(1)),
      ...sessionReaders(SESSION).filter((expected) => expected.tool !== 'get_approved_phases'),
      passes('get_approved_phases', SESSION),
    ],
  },
  {
    kind: 'user_feedback.md',
    at: `${PHASE_1}/user_feedback.md`,
    target: 'user_feedback.md',
    calls: [
      refused('save_user_feedback', feedback(1)),
      refused('get_approved_phases', SESSION),
      reported('validate_checkpoint', phase(1)),
      reported('validate_session', SESSION),
      refused('export_session', SESSION),
      // The phase is completed, so resuming never reads its review; and a review that cannot be read
      // (a link is one) overrides nothing, so loading the checkpoint passes it over.
      passes('resume_session', SESSION),
      passes('load_session', SESSION),
    ],
  },
  {
    kind: 'session_manifest.md',
    at: 'proj/sessions/s1/session_manifest.md',
    target: 'session_manifest.md',
    calls: [
      refused('create_session', { ...SESSION, user_id: 'u1' }),
      refused('save_checkpoint', checkpoint(1)),
      refused('save_agent_output', saveOutput(1, 'Writer')),
      refused('save_user_feedback', feedback(1)),
      // The listing skips a session whose manifest is a link, rather than failing for the whole project.
      passes('list_sessions', { project_id: 'proj' }),
      refused('get_agent_output', phase(1, { agent_name: 'Writer' })),
      ...sessionReaders(SESSION),
    ],
  },
  {
    kind: 'project.md',
    at: 'proj/project.md',
    target: 'project.md',
    calls: [
      refused('get_project', { project_id: 'proj' }),
      refused('archive_project', { project_id: 'proj' }),
      refused('start_session', { project_id: 'proj' }),
      refused('create_session', { project_id: 'proj', session_id: 's3', user_id: 'u1' }),
      refused('create_project', { user_id: 'u1', startup_idea: 'x', project_id: 'proj' }),
      // The listing skips a project whose project.md is a link, rather than failing for every project.
      passes('list_projects', {}),
      refused('list_sessions', { project_id: 'proj' }),
      // A session reads project.md only to recover a lost manifest.
      passes('load_session', SESSION),
    ],
  },
  {
    kind: 'a history directory',
    at: `${PHASE_1}/history`,
    target: 'tree',
    calls: [
      refused('save_agent_output', saveOutput(1, 'Writer', 'third')),
      refused('get_agent_output', phase(1, { agent_name: 'Writer' })),
      refused('get_agent_output', phase(1, { agent_name: 'Writer', version: 1 })),
      refused('list_history', phase(1)),
      refused('save_checkpoint', checkpoint(1)),
      refused('save_user_feedback', feedback(1)),
    ],
  },
  {
    kind: 'a history version',
    at: `${PHASE_1}/history/Writer.v2.md`,
    target: 'agent.md',
    calls: [
      // Only regular files are versions: the link is neither listed nor read, and the next version skips its name.
      passes('list_history', phase(1)),
      passes('get_agent_output', phase(1, { agent_name: 'Writer', version: 2 })),
      passes('save_agent_output', saveOutput(1, 'Writer', 'third')),
      { tool: 'get_agent_output', args: phase(1, { agent_name: 'Writer', version: 3 }), code: SUCCESS },
    ],
  },
];

async function callOk(client: Sandbox['client'], tool: string, args: Record<string, unknown>): Promise<void> {
  const result = await call(client, tool, args);
  if (result.isError) throw new Error(`${tool} failed: ${resultText(result)}`);
}

const open: Sandbox[] = [];
afterEach(async () => {
  for (const sandbox of open.splice(0)) await sandbox.close();
});

/** A sandbox with the seed session; fsync is off, as what is tested is where bytes go, not when. */
async function seeded(): Promise<Sandbox> {
  const sandbox = await openSandbox({ store: { durable: false } });
  open.push(sandbox);
  await seed(sandbox.client);
  return sandbox;
}

/** Runs `calls`, checking each outcome, and returns every text the server answered. */
async function runAll(sandbox: Sandbox, calls: Expected[], linkLabel?: string): Promise<string[]> {
  const texts: string[] = [];
  const outcomes: string[] = [];
  for (const { tool, args, code } of calls) {
    const result = await call(sandbox.client, tool, args);
    const text = resultText(result);
    texts.push(text);
    const got = result.isError
      ? codeOf(result)
      : code === REPORTED && reportsLink(text, linkLabel)
        ? REPORTED
        : SUCCESS;
    outcomes.push(`${tool}: ${got}${got === code ? '' : ` (expected ${code}) ${text.slice(0, 300)}`}`);
    if (
      got === 'CORRUPT_FILE' &&
      linkLabel !== undefined &&
      !text.includes(`${linkLabel} is a symbolic link`)
    ) {
      outcomes.push(`${tool}: does not name the link: ${text.slice(0, 300)}`);
    }
  }
  expect(outcomes).toEqual(calls.map(({ tool, code }) => `${tool}: ${code}`));
  return texts;
}

/** Whether a validator's answer is invalid with an error naming the link. */
function reportsLink(text: string, linkLabel: string | undefined): boolean {
  const answer = JSON.parse(text) as { is_valid?: unknown };
  return (
    linkLabel !== undefined && answer.is_valid === false && text.includes(`${linkLabel} is a symbolic link`)
  );
}

function expectNothingFromOutside(sandbox: Sandbox, texts: string[]): void {
  for (const text of texts) {
    expect(text).not.toContain(sandbox.marker);
    expect(text).not.toContain(sandbox.root);
  }
}

describe('a symbolic link planted at each kind of destination, pointing outside the base', () => {
  for (const destination of DESTINATIONS) {
    for (const liveness of ['live', 'dangling'] as const) {
      it(`${destination.kind} (${liveness}): every tool refuses or skips it, nothing outside changes or leaks`, async () => {
        const sandbox = await seeded();
        await destination.prepare?.(sandbox);
        const at = join(sandbox.base, destination.at);
        const target = join(
          sandbox.canary,
          liveness === 'live' ? destination.target : 'missing/nothing-here',
        );
        await fsp.rm(at, { recursive: true, force: true });
        await fsp.symlink(target, at);
        const canary = await treeListing(sandbox.canary);
        const evil = await treeListing(sandbox.evil);

        const texts = await runAll(sandbox, destination.calls, destination.at);

        expectNothingFromOutside(sandbox, texts);
        expect(await fsp.readlink(at)).toBe(target);
        expect(await treeListing(sandbox.canary)).toEqual(canary);
        expect(await treeListing(sandbox.evil)).toEqual(evil);
      });
    }
  }
});

describe('links at the lock and temporary file names', () => {
  for (const liveness of ['live', 'dangling'] as const) {
    it(`a ${liveness} link named .lock is moved aside, never followed, and the save goes ahead`, async () => {
      const sandbox = await seeded();
      const target = join(sandbox.canary, liveness === 'live' ? 'secret.txt' : 'missing/lock');
      const sessionLock = join(sandbox.base, 'proj/sessions/s1/.lock');
      const projectLock = join(sandbox.base, 'proj/.lock');
      await fsp.symlink(target, sessionLock);
      await fsp.symlink(target, projectLock);
      const canary = await treeListing(sandbox.canary);

      // What is planted under the lock's name is no lock: it is renamed away (rename moves the link itself).
      const texts = await runAll(sandbox, [
        passes('save_checkpoint', checkpoint(1)),
        passes('save_user_feedback', feedback(1)),
        passes('archive_project', { project_id: 'proj' }),
        passes('load_session', SESSION),
      ]);

      expectNothingFromOutside(sandbox, texts);
      expect(await treeListing(sandbox.canary)).toEqual(canary);
      for (const lock of [sessionLock, projectLock]) {
        await expect(fsp.lstat(lock)).rejects.toMatchObject({ code: 'ENOENT' });
        const dir = join(lock, '..');
        const aside = (await fsp.readdir(dir)).filter((name) => name.startsWith('.lock.stale-'));
        expect(aside).toHaveLength(1);
        expect(await fsp.readlink(join(dir, aside[0] as string))).toBe(target);
      }
    });
  }

  it('a folder on the way swapped for a link while a save waits for the lock is refused once the lock is taken', async () => {
    const sandbox = await seeded();
    const session = join(sandbox.base, 'proj/sessions/s1');
    const checkpointFile = join(sandbox.base, PHASE_1, 'checkpoint.md');
    const before = await fsp.readFile(checkpointFile);
    // A live holder on this host: the save waits for it, polling.
    const owner = {
      pid: process.pid,
      host: hostname(),
      token: 'held-by-the-test',
      acquired: new Date().toISOString(),
    };
    await fsp.writeFile(join(session, '.lock'), `${JSON.stringify(owner)}\n`);
    const saving = call(sandbox.client, 'save_checkpoint', checkpoint(1));
    // The save's draft of its own lock file shows it has looked at the folders and is trying the lock.
    while (!(await fsp.readdir(session)).some((name) => /^\.lock\..+\.tmp$/.test(name))) await delay(2);
    // Its polls back off to 25-50 ms apart within some 100 ms. The swap below is a rename, then a link: a
    // poll between the two finds no folder at all, fails there, and leaves its draft in the moved folder,
    // a race of this test's own making. Swapped between polls that far apart, the save sees either side.
    await delay(400);
    // The project folder becomes a link to the very same folder: every path still leads where it did,
    // so the lock can be taken, but the way to it now passes a link.
    const real = join(sandbox.base, 'proj-real');
    await fsp.rename(join(sandbox.base, 'proj'), real);
    await fsp.symlink(real, join(sandbox.base, 'proj'));
    await fsp.rm(join(real, 'sessions/s1/.lock'));

    const result = await saving;

    // The look taken before the wait does not stand for the folders after it: they are looked at again.
    expect(result.isError, resultText(result)).toBe(true);
    expect(codeOf(result)).toBe('CORRUPT_FILE');
    expect(resultText(result)).toContain('proj is a symbolic link');
    expect(await fsp.readFile(join(real, 'sessions/s1/phase_1_concept/checkpoint.md'))).toEqual(before);
    expect((await fsp.readdir(join(real, 'sessions/s1'))).filter((name) => name.startsWith('.lock'))).toEqual(
      [],
    );
  });

  it('a directory named .lock is moved aside the same way', async () => {
    const sandbox = await seeded();
    await fsp.mkdir(join(sandbox.base, 'proj/sessions/s1/.lock'));
    await runAll(sandbox, [passes('save_checkpoint', checkpoint(1))]);
    const names = await fsp.readdir(join(sandbox.base, 'proj/sessions/s1'));
    expect(names.filter((name) => name.startsWith('.lock'))).toEqual([
      expect.stringMatching(/^\.lock\.stale-/),
    ]);
  });

  for (const liveness of ['live', 'dangling'] as const) {
    it(`a ${liveness} link planted at the very temporary name a write is about to create makes the write fail, not follow it`, async () => {
      // The temporary name has a random part, so the link is planted the instant before open(): the race
      // an attacker on the machine would have to win. O_CREAT|O_EXCL|O_NOFOLLOW fails on any existing name.
      let sandbox: Sandbox | undefined;
      const planted: string[] = [];
      const plant = (path: string, flags: unknown) => {
        if (typeof flags === 'number' && flags & constants.O_CREAT && path.endsWith('.tmp') && sandbox) {
          const target = join(
            sandbox.canary,
            liveness === 'live' ? 'secret.txt' : `missing-${planted.length}`,
          );
          symlinkSync(target, path);
          planted.push(path);
        }
      };
      // Small files are created with openSync, large ones with open: both are raced.
      const fs: StoreFs = {
        ...nodeFs,
        open: (async (path: string, flags?: number, mode?: number) => {
          plant(path, flags);
          return fsp.open(path, flags, mode);
        }) as StoreFs['open'],
        openSync: ((path: string, flags: number, mode?: number) => {
          plant(path, flags);
          return nodeFs.openSync(path, flags, mode);
        }) as StoreFs['openSync'],
      };
      sandbox = await openSandbox({ store: { fs } });
      open.push(sandbox);
      const canary = await treeListing(sandbox.canary);

      // Planting starts after the first call: create_project writes project.md through a temporary file.
      const texts: string[] = [];
      const results = [];
      for (const [tool, args] of [
        ['create_project', { user_id: 'u1', startup_idea: 'x', project_id: 'proj' }],
        ['create_session', { ...SESSION, user_id: 'u1' }],
        ['save_agent_output', saveOutput(1, 'Writer')],
        ['save_checkpoint', checkpoint(1)],
      ] as const) {
        const result = await call(sandbox.client, tool, args);
        texts.push(resultText(result));
        results.push(`${tool}: ${result.isError ? codeOf(result) : SUCCESS}`);
      }

      expect(results).toEqual([
        'create_project: INTERNAL',
        'create_session: INTERNAL',
        'save_agent_output: NOT_FOUND',
        'save_checkpoint: NOT_FOUND',
      ]);
      expect(texts[0]).toMatch(/\(EEXIST\)/);
      expect(planted.length).toBeGreaterThan(0);
      expectNothingFromOutside(sandbox, texts);
      expect(await treeListing(sandbox.canary)).toEqual(canary);
    });
  }

  for (const liveness of ['live', 'dangling'] as const) {
    it(`${liveness} links with temporary-file names are neither followed by writes nor removed as orphans`, async () => {
      const sandbox = await seeded();
      const target = join(sandbox.canary, liveness === 'live' ? 'agent.md' : 'missing/tmp');
      const names = [
        `${PHASE_1}/.Writer.md.${process.pid}.000000000000.tmp`,
        `${PHASE_1}/.Writer.md.1.ffffffffffff.tmp`,
        `${PHASE_1}/history/.Writer.1.aaaaaaaaaaaa.tmp`,
        'proj/sessions/s1/.lock.1.000000000000000000000000.tmp',
        'proj/sessions/s1/.lock.stale-000000000000000000000000',
      ];
      for (const name of names) await fsp.symlink(target, join(sandbox.base, name));
      const canary = await treeListing(sandbox.canary);

      const texts = await runAll(sandbox, [
        passes('save_agent_output', saveOutput(1, 'Writer', 'third')),
        passes('save_checkpoint', checkpoint(1)),
        passes('load_session', SESSION),
        passes('get_phase_outputs', { ...SESSION, phase_nums: [1] }),
        passes('list_history', phase(1)),
      ]);
      // load_session's sweep of the session runs after its answer: the links must outlive it too.
      expect(await sandbox.checkpoints?.orphanSweeps()).toStrictEqual([]);

      expectNothingFromOutside(sandbox, texts);
      expect(await treeListing(sandbox.canary)).toEqual(canary);
      for (const name of names) expect(await fsp.readlink(join(sandbox.base, name))).toBe(target);
    });
  }
});

describe('paths written into the files by hand', () => {
  it('an output file name edited to point outside is refused when validate_checkpoint reads it', async () => {
    const sandbox = await seeded();
    const file = join(sandbox.base, PHASE_1, 'checkpoint.md');
    const text = await fsp.readFile(file, 'utf8');
    const canary = await treeListing(sandbox.canary);
    for (const hostile of ['../../../../canary/agent.md', '..', '/etc/passwd']) {
      const edited = text.replace('| Writer | Writer.md   |', `| Writer | ${hostile} |`);
      expect(edited).not.toBe(text);
      await fsp.writeFile(file, edited);
      const line = edited.split('\n').findIndex((row) => row.startsWith(`| Writer | ${hostile} |`)) + 1;
      const result = await call(sandbox.client, 'validate_checkpoint', phase(1));
      const answer = resultText(result);
      expect(answer).not.toContain(sandbox.marker);
      expect(answer).not.toContain(sandbox.root);
      // The parser rejects the name at its row, before any path is built from it: never a read outside.
      const where = `${PHASE_1}/checkpoint.md:${line}: output file of agent Writer ${JSON.stringify(hostile)} must`;
      if (result.isError) {
        expect(codeOf(result)).toBe('CORRUPT_FILE');
        expect(answer).toContain(where);
      } else {
        const report = JSON.parse(answer) as { is_valid: boolean; errors: string[] };
        expect(report.is_valid).toBe(false);
        expect(report.errors).toContainEqual(expect.stringContaining(where));
      }
    }
    expect(await treeListing(sandbox.canary)).toEqual(canary);
  });

  it('a hard link to a file outside is replaced by a save, never written through', async () => {
    const sandbox = await seeded();
    const outside = join(sandbox.canary, 'evil.md');
    const inside = join(sandbox.base, PHASE_1, 'evil.md');
    await fsp.link(outside, inside);
    const canary = await treeListing(sandbox.canary);
    await runAll(sandbox, [passes('save_agent_output', saveOutput(1, 'evil', 'overwrite attempt'))]);
    // rename() replaced the directory entry; the inode outside kept its bytes.
    expect(await treeListing(sandbox.canary)).toEqual(canary);
    expect((await fsp.stat(outside)).nlink).toBe(1);
  });
});
