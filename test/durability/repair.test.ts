import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { formatRepairReport, removeOrphanFiles, repairBaseDirectory } from '../../src/checkpoint/repair.js';
import { managers } from '../helpers/base-dir.js';
import { editDocument, fileOnly, readDocument, removeDocument } from '../helpers/engine.js';
import { tempFiles } from './harness.js';

/** The pid of a process that has exited: its temporary files are orphans. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid ?? 1;
}

/**
 * Five sessions, three with a wrong manifest and one with a corrupt checkpoint; on the file engine also
 * the temporary files of a dead writer (orphans) and of a live one. PostgreSQL leaves no such files: a
 * writer that dies takes its uncommitted transaction with it.
 */
async function seeded() {
  const m = await managers();
  const { base, store, checkpoints } = m;
  for (const [project_id, session_id] of [
    ['alpha', 'ok'],
    ['alpha', 'missing'],
    ['alpha', 'unreadable'],
    ['beta', 'disagrees'],
    ['beta', 'corrupt'],
  ] as const) {
    await checkpoints.createSession({ project_id, session_id, user_id: 'u' });
    await checkpoints.saveCheckpoint({
      project_id,
      session_id,
      phase_num: 1,
      status: 'completed',
      agents: [],
    });
  }
  const session = (project: string, id: string) => [project, 'sessions', id];
  await removeDocument(m, ...session('alpha', 'missing'), 'session_manifest.md');
  await editDocument(
    m,
    [...session('alpha', 'unreadable'), 'session_manifest.md'],
    '# Session Manifest\n\nhalf a fi',
  );
  const checkpoint = [...session('beta', 'disagrees'), 'phase_1_concept', 'checkpoint.md'];
  await editDocument(
    m,
    checkpoint,
    (await readDocument(m, ...checkpoint)).replace('- Status: completed', '- Status: failed'),
  );
  await editDocument(
    m,
    [...session('beta', 'corrupt'), 'phase_1_concept', 'checkpoint.md'],
    '# Phase Checkpoint\n\nnothing',
  );
  if (m.engine !== 'file') return { m, store, checkpoints, orphans: [], live: undefined, session };
  const dead = deadPid();
  const orphans = [
    join('alpha', `.project.md.${dead}.0a1b2c.tmp`),
    join('alpha', 'sessions', 'ok', `.session_manifest.md.${dead}.0a1b2d.tmp`),
    join('alpha', 'sessions', 'ok', `.lock.${dead}.0a1b2e.tmp`),
    join('alpha', 'sessions', 'ok', 'phase_2_market_research', `.scout.md.${dead}.0a1b2f.tmp`),
  ];
  await mkdir(join(base, 'alpha', 'sessions', 'ok', 'phase_1_concept', 'history'), { recursive: true });
  orphans.push(
    join('alpha', 'sessions', 'ok', 'phase_1_concept', 'history', `.checkpoint.${dead}.0a1b30.tmp`),
  );
  for (const orphan of orphans) await writeFile(join(base, orphan), 'half');
  // A live writer's temporary file (this process, just now) is no orphan.
  const live = join('beta', 'sessions', 'disagrees', `.session_manifest.md.${process.pid}.0a1b31.tmp`);
  await writeFile(join(base, live), 'in flight');
  return { m, store, checkpoints, orphans, live, session };
}

describe('repair of a whole base directory', () => {
  it('removes orphaned temporary files, rebuilds every wrong manifest and reports each change', async () => {
    const { m, store, checkpoints, orphans, live, session } = await seeded();
    const report = await repairBaseDirectory(store, checkpoints);

    expect(report.projects).toBe(2);
    expect(report.sessions).toBe(5);
    const byAction = (action: string) =>
      report.changes
        .filter((change) => change.action === action)
        .map((change) => change.path)
        .sort();
    expect(byAction('removed')).toEqual([...orphans].sort());
    expect(byAction('rebuilt')).toEqual([
      'alpha/sessions/missing/session_manifest.md',
      'alpha/sessions/unreadable/session_manifest.md',
      'beta/sessions/disagrees/session_manifest.md',
    ]);
    expect(byAction('failed')).toEqual(['beta/sessions/corrupt']);
    const failed = report.changes.find((change) => change.action === 'failed');
    expect(failed?.reason).toMatch(
      /^CORRUPT_FILE: .*beta\/sessions\/corrupt\/phase_1_concept\/checkpoint\.md/,
    );
    expect(report.changes.find((change) => change.path.endsWith('missing/session_manifest.md'))?.reason).toBe(
      'the manifest was missing; rebuilt from the phase checkpoints',
    );

    if (live !== undefined) expect(await tempFiles(m.base)).toEqual([live]);
    const manifest = async (project: string, id: string) =>
      parseManifest(await readDocument(m, ...session(project, id), 'session_manifest.md'), id);
    expect((await manifest('beta', 'disagrees')).phases[0]?.status).toBe('failed');
    expect((await manifest('alpha', 'missing')).phases[0]?.status).toBe('completed');
    expect((await manifest('alpha', 'unreadable')).revision).toBe(1);
    expect((await manifest('alpha', 'ok')).revision).toBe(2);

    const again = await repairBaseDirectory(store, checkpoints);
    expect(again.changes.map((change) => change.action)).toEqual(['failed']);
  });

  it('formats the report as one line per change and a summary', async () => {
    const lines = formatRepairReport({
      projects: 2,
      sessions: 3,
      changes: [
        { path: 'p/.project.md.7.ab.tmp', action: 'removed', reason: 'temporary file' },
        { path: 'p/sessions/s/session_manifest.md', action: 'rebuilt', reason: 'the manifest was missing' },
      ],
    });
    expect(lines).toEqual([
      'removed  p/.project.md.7.ab.tmp: temporary file',
      'rebuilt  p/sessions/s/session_manifest.md: the manifest was missing',
      'checked 2 projects and 3 sessions: 1 file removed, 1 manifest rebuilt, 0 sessions not repaired',
    ]);
    expect(formatRepairReport({ projects: 1, sessions: 1, changes: [] })).toEqual([
      'checked 1 project and 1 session: nothing to repair',
    ]);
  });

  it.skipIf(fileOnly('temporary files of the atomic write'))(
    'at startup, removeOrphanFiles deletes only the files of writers that are gone',
    async () => {
      const { m, store, orphans, live } = await seeded();
      const removed = await removeOrphanFiles(store);
      expect(removed.map((change) => change.path).sort()).toEqual([...orphans].sort());
      expect(await tempFiles(m.base)).toEqual([live]);
    },
  );
});

describe.skipIf(fileOnly('lock files'))('repair and the lock file of a writer killed while it saved', () => {
  const lockOf = (pid: number) =>
    `${JSON.stringify({ pid, host: hostname(), token: 'abc123', acquired: new Date().toISOString() })}\n`;

  it('removes it, through the takeover any writer makes, and reports it; a live holder’s lock stays', async () => {
    const m = await managers({ store: { lockTimeoutMs: 300 } });
    await m.checkpoints.createSession({ project_id: 'p', session_id: 'dead', user_id: 'u' });
    await m.checkpoints.createSession({ project_id: 'p', session_id: 'live', user_id: 'u' });
    await writeFile(join(m.base, 'p', 'sessions', 'dead', '.lock'), lockOf(deadPid()));
    await writeFile(join(m.base, 'p', 'sessions', 'live', '.lock'), lockOf(process.pid));

    const report = await repairBaseDirectory(m.store, m.checkpoints);

    expect(report.changes).toEqual([
      {
        path: 'p/sessions/dead/.lock',
        action: 'removed',
        reason: 'lock file of a writer that is gone (killed while it saved); taken over and given back',
      },
    ]);
    expect(existsSync(join(m.base, 'p', 'sessions', 'dead', '.lock'))).toBe(false);
    expect(existsSync(join(m.base, 'p', 'sessions', 'live', '.lock'))).toBe(true);
    expect(await tempFiles(m.base)).toEqual([]);
  });
});
