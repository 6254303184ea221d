import {
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { ProjectManager } from '../../src/checkpoint/project-manager.js';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { createServer } from '../../src/server.js';
import { callOk, silentLogger } from '../helpers/client.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { PG_UNAVAILABLE, runCli, treeRows, withDatabase } from './pg-harness.js';

/** Every folder and file below `dir` (names starting with "." left out), a file with its bytes. */
async function tree(dir: string, rel = ''): Promise<Map<string, Buffer | 'folder'>> {
  const found = new Map<string, Buffer | 'folder'>();
  for (const entry of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = rel === '' ? entry.name : `${rel}/${entry.name}`;
    if (entry.isDirectory()) {
      found.set(path, 'folder');
      for (const [inner, value] of await tree(dir, path)) found.set(inner, value);
    } else if (entry.isFile()) {
      found.set(path, await readFile(join(dir, path)));
    } else {
      found.set(path, Buffer.from(`<${(await lstat(join(dir, path))).isSymbolicLink() ? 'link' : 'other'}>`));
    }
  }
  return found;
}

/** The tree as sorted lines, a file with its bytes in base64: a diff names the path that differs. */
async function treeLines(dir: string): Promise<string[]> {
  return [...(await tree(dir))]
    .map(([path, value]) => (value === 'folder' ? `${path}/` : `${path} ${value.toString('base64')}`))
    .sort();
}

const S1 = { project_id: 'alpha', session_id: 's1' };
const HAND_WRITTEN_PROJECT = [
  '# Project: Made by hand',
  '',
  '## Metadata',
  '*   project id:   handmade',
  '+ Project Name: Made by hand',
  '- User ID: u2',
  '- Execution Mode: full',
  '- Status: active',
  '- Created: 2024-11-24T10:00:00Z',
  '- Updated: 2024-11-24T10:00:00Z',
  '- Reviewer: someone (an unknown key)',
  '',
  '## Startup Idea',
  '',
  'Written in an editor.  \r\nCRLF line, trailing spaces, no final newline',
].join('\n');

/**
 * A base directory written by the file engine through a real client (in-process, whatever engine the
 * shared helpers are set to), plus a project written by hand.
 */
async function fileEngineTree(base: string): Promise<void> {
  const store = await FsStore.open(base);
  const checkpoints = new CheckpointManager(store);
  const server = createServer({
    checkpoints,
    projects: new ProjectManager(store, checkpoints),
    logger: silentLogger,
  });
  const client = new Client({ name: 'checkpoint-mcp-round-trip', version: '1.0.0' });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
  try {
    await writeSessions(client, base);
  } finally {
    await client.close();
    await server.close();
  }
}

async function writeSessions(client: Client, base: string): Promise<void> {
  await callOk(client, 'create_project', {
    project_id: 'alpha',
    user_id: 'u1',
    project_name: 'Alpha',
    startup_idea: 'Lab equipment, resold.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n',
  });
  await callOk(client, 'create_session', { ...S1, user_id: 'u1' });
  await callOk(client, 'create_session', {
    project_id: 'alpha',
    session_id: 's2',
    user_id: 'u1',
    execution_mode: 'full',
  });
  await callOk(client, 'start_session', { project_id: 'alpha', user_id: 'u1' });
  // Several versions of one output, of a checkpoint and of a review: history/ holds the earlier ones.
  for (const [i, content] of ['first draft', 'second draft\n## Output\n', 'third\r\ndraft  '].entries())
    await callOk(client, 'save_agent_output', {
      ...S1,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: content,
      model: `model-${i}`,
      input_tokens: 100 * (i + 1),
      output_tokens: 10,
      duration: 1.5,
    });
  await callOk(client, 'save_agent_output', {
    ...S1,
    phase_num: 1,
    agent_name: 'critic',
    output_content: 'Looks fine.',
    status: 'failed',
    error_type: 'Timeout',
    error_message: 'took too long',
    stack_trace: 'at a\nat b',
  });
  for (const status of ['in_progress', 'completed', 'completed'])
    await callOk(client, 'save_checkpoint', {
      ...S1,
      phase_num: 1,
      status,
      agents: [
        { agent_name: 'concept_expansion', status: 'completed', tokens: 330, cost: 0.0375, duration: 1.5 },
        { agent_name: 'critic', status: 'failed' },
      ],
      errors: ['critic timed out'],
    });
  await callOk(client, 'save_user_feedback', {
    ...S1,
    phase_num: 1,
    reviewed: true,
    approved: false,
    action: 'retry_with_changes',
    requested_changes: ['shorter', 'add a table'],
    comments: 'Almost.\n\n## User Comments\n',
  });
  await callOk(client, 'save_user_feedback', { ...S1, phase_num: 1, reviewed: true, approved: true });
  await callOk(client, 'save_agent_output', {
    ...S1,
    phase_num: 2,
    agent_name: 'market_research',
    output_content: '# Market\n',
  });
  await callOk(client, 'save_checkpoint', {
    ...S1,
    phase_num: 2,
    status: 'in_progress',
    agents: [{ agent_name: 'market_research', status: 'in_progress' }],
  });
  await callOk(client, 'save_agent_output', {
    project_id: 'alpha',
    session_id: 's2',
    phase_num: 4,
    agent_name: 'strategist',
    output_content: 'Strategy.',
  });
  await callOk(client, 'save_user_feedback', {
    project_id: 'alpha',
    session_id: 's2',
    phase_num: 5,
    reviewed: true,
    approved: false,
    action: 'skip_phase',
  });
  // A phase folder made by hand and left empty, and a project written by hand.
  await mkdir(join(base, 'alpha/sessions/s1/phase_4_product_strategy'));
  await mkdir(join(base, 'handmade/sessions'), { recursive: true });
  await writeFile(join(base, 'handmade/project.md'), HAND_WRITTEN_PROJECT);
}

describe.skipIf(PG_UNAVAILABLE !== undefined)('import, then export, gives the file tree back', () => {
  let cluster: TestCluster;
  let base: string;
  let original: string[];

  /** Folders of this file, removed at its end (the shared helpers remove theirs after each test). */
  const scratch: string[] = [];

  beforeAll(async () => {
    cluster = await startCluster();
    const root = await mkdtemp(join(tmpdir(), 'checkpoint-pg-source-'));
    scratch.push(root);
    base = join(root, 'base');
    await fileEngineTree(base);
    original = await treeLines(base);
  });

  afterAll(async () => {
    await cluster?.stop();
    await Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('the tree the file engine wrote has what the round trip must carry', () => {
    const paths = original.map((line) => line.split(' ')[0] ?? '');
    expect(paths).toEqual(
      expect.arrayContaining([
        'alpha/sessions/s1/phase_1_concept/history/concept_expansion.v1.md',
        'alpha/sessions/s1/phase_1_concept/history/concept_expansion.v2.md',
        'alpha/sessions/s1/phase_1_concept/history/checkpoint.v2.md',
        'alpha/sessions/s1/phase_1_concept/history/user_feedback.v1.md',
        'alpha/sessions/s1/phase_3_niche_selection/',
        'alpha/sessions/s1/phase_4_product_strategy/',
        'alpha/sessions/s2/phase_5_business_planning/user_feedback.md',
        'handmade/project.md',
        'handmade/sessions/',
      ]),
    );
    expect(paths.filter((path) => /^alpha\/sessions\/[^/]+\/$/.test(path))).toHaveLength(3);
  });

  it('import then export to a new folder gives the same files, byte for byte, history included', async () => {
    const url = await cluster.database('round_trip');
    const imported = await runCli(['import', '--from', base, '--store', url]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).not.toContain('skipped');
    expect(imported.stdout).toMatch(/imported \d+ folders, \d+ documents and \d+ kept versions/);

    const out = await mkdtemp(join(tmpdir(), 'checkpoint-pg-export-'));
    scratch.push(out);
    const exported = await runCli(['export', '--store', url, '--to', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(await treeLines(out)).toEqual(original);

    // The file engine serves the exported tree: the sessions read as they were written.
    const files = new Map(await tree(out));
    expect(String(files.get('handmade/project.md'))).toBe(HAND_WRITTEN_PROJECT);
  });

  it('importing the same tree twice changes no row', async () => {
    const url = await cluster.database('twice');
    const first = await runCli(['import', '--from', base, '--store', url]);
    expect(first.code, first.stderr).toBe(0);
    const rows = await treeRows(url);
    expect(rows.checkpoint_documents.length).toBeGreaterThan(10);
    expect(rows.checkpoint_history.length).toBeGreaterThan(3);
    const second = await runCli(['import', '--from', base, '--store', url]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(`imported 0 folders, 0 documents and 0 kept versions (${base})\n`);
    expect(await treeRows(url)).toEqual(rows);
  });

  it('importing a tree again where only a file time changed changes no row: the stored document stands', async () => {
    // The same bytes are the same document: import adds what the database lacks and replaces nothing,
    // so a time (and with it the write id a save read the document by) moves only when a save writes.
    const url = await cluster.database('retimed');
    const folder = await mkdtemp(join(tmpdir(), 'checkpoint-pg-retimed-'));
    scratch.push(folder);
    const copy = join(folder, 'base');
    await cp(base, copy, { recursive: true, preserveTimestamps: true });
    expect((await runCli(['import', '--from', copy, '--store', url])).code).toBe(0);
    const before = await treeRows(url);
    const when = new Date('2026-01-02T03:04:05.678Z');
    await utimes(join(copy, 'handmade', 'project.md'), when, when);
    const again = await runCli(['import', '--from', copy, '--store', url]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).not.toContain('skipped');
    expect(await treeRows(url)).toEqual(before);
  });

  it('a planted symlink and stray names are not imported, and the command names each one it skipped', async () => {
    const root = await mkdtemp(join(tmpdir(), 'checkpoint-pg-planted-'));
    scratch.push(root);
    const outside = join(root, 'outside');
    await mkdir(join(outside, 'sessions'), { recursive: true });
    const marker = 'PLANTED-OUTSIDE-THE-TREE';
    await writeFile(join(outside, 'secret.md'), `# Agent Output: secret\n\n${marker}\n`);
    await writeFile(join(outside, 'project.md'), `${HAND_WRITTEN_PROJECT}\n${marker}`);
    const planted = join(root, 'planted');
    await copyTree(base, planted);
    const phase = 'alpha/sessions/s1/phase_1_concept';
    const plants = {
      linkedFile: `${phase}/linked.md`,
      linkedSession: 'alpha/sessions/linked_session',
      linkedProject: 'linked_project',
      strayName: `${phase}/stray name.md`,
      strayUnicode: `${phase}/caf\u00e9.md`,
      strayHistory: `${phase}/history/notes.txt`,
      straySession: 'alpha/sessions/stray session',
    };
    await symlink(join(outside, 'secret.md'), join(planted, plants.linkedFile));
    await symlink(outside, join(planted, plants.linkedSession));
    await symlink(outside, join(planted, plants.linkedProject));
    await writeFile(join(planted, plants.strayName), 'stray');
    await writeFile(join(planted, plants.strayUnicode), 'stray');
    await writeFile(join(planted, plants.strayHistory), 'stray');
    await mkdir(join(planted, plants.straySession, 'phase_1_concept'), { recursive: true });
    await writeFile(join(planted, plants.straySession, 'phase_1_concept', 'a.md'), 'stray');

    const url = await cluster.database('planted');
    const imported = await runCli(['import', '--from', planted, '--store', url]);
    expect(imported.code, imported.stderr).toBe(0);
    const skipped = imported.stdout.split('\n').filter((line) => line.startsWith('skipped '));
    const named = Object.fromEntries(
      Object.entries(plants).map(([plant, path]) => [plant, skipped.some((line) => line.includes(path))]),
    );
    // Soft: what was left out is checked below even when a skip went unreported.
    expect.soft(named).toEqual(Object.fromEntries(Object.keys(plants).map((plant) => [plant, true])));

    const rows = await treeRows(url);
    expect(JSON.stringify(rows)).not.toContain(marker);
    expect(JSON.stringify(rows)).not.toContain('stray');
    const out = join(root, 'out');
    const exported = await runCli(['export', '--store', url, '--to', out]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(await treeLines(out)).toEqual(original);
  });

  it('a kept version named with a number the store never writes is skipped and named, and the import goes on', async () => {
    const root = await mkdtemp(join(tmpdir(), 'checkpoint-pg-numbers-'));
    scratch.push(root);
    const odd = join(root, 'base');
    await copyTree(base, odd);
    // s1 comes first: before, its bad name stopped the import there, with s2 and handmade not loaded.
    const history = 'alpha/sessions/s1/phase_1_concept/history';
    const unwritten = [
      'critic.v0.md',
      'critic.v01.md',
      'critic.v1000000001.md',
      'critic.v2147483647.md',
      'critic.v2147483648.md',
      'critic.v99999999999.md',
    ];
    for (const name of unwritten) await writeFile(join(odd, history, name), 'never written by the store');
    await writeFile(join(odd, history, 'critic.v1000000000.md'), 'the largest number kept');

    const url = await cluster.database('numbers');
    const imported = await runCli(['import', '--from', odd, '--store', url]);
    expect(imported.code, imported.stderr).toBe(0);
    const skipped = imported.stdout.split('\n').filter((line) => line.startsWith('skipped '));
    expect(skipped.map((line) => line.split(':')[0]).sort()).toEqual(
      unwritten.map((name) => `skipped ${history}/${name}`).sort(),
    );
    const largest = await withDatabase(url, (db) =>
      db.query('SELECT version FROM checkpoint_history WHERE path = $1', [
        'alpha/sessions/s1/phase_1_concept/critic.md',
      ]),
    );
    expect(largest.rows).toEqual([{ version: 1_000_000_000 }]);
    // The next save of the document keeps the version it replaces under the next number.
    const store = await PgStore.open(url);
    try {
      await new CheckpointManager(store).saveAgentOutput({
        project_id: 'alpha',
        session_id: 's1',
        phase_num: 1,
        agent_name: 'critic',
        output_content: 'saved after the import',
      });
    } finally {
      await store.close();
    }
    const after = await withDatabase(url, (db) =>
      db.query('SELECT max(version) AS version FROM checkpoint_history WHERE path = $1', [
        'alpha/sessions/s1/phase_1_concept/critic.md',
      ]),
    );
    expect(after.rows).toEqual([{ version: 1_000_000_001 }]);
    const rows = await treeRows(url);
    expect(rows.checkpoint_documents.map((row) => row[0])).toEqual(
      expect.arrayContaining(['alpha/sessions/s2/session_manifest.md', 'handmade/project.md']),
    );
  });
});

/** A plain copy (folders and files) of `from` at `to`. */
async function copyTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isDirectory()) await copyTree(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile()) await writeFile(join(to, entry.name), await readFile(join(from, entry.name)));
  }
}
