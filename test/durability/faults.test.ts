import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { CheckpointError } from '../../src/checkpoint/model/errors.js';
import { managers } from '../helpers/base-dir.js';
import { type Fault, FaultyFs } from './fault-fs.js';
import { listFiles, tempFiles } from './harness.js';

const REF = { project_id: 'p', session_id: 's' };
const PHASE_DIR = join('p', 'sessions', 's', 'phase_1_concept');

type Kind = 'agent output' | 'checkpoint' | 'feedback';

const TARGET: Record<Kind, string> = {
  'agent output': join(PHASE_DIR, 'writer.md'),
  checkpoint: join(PHASE_DIR, 'checkpoint.md'),
  feedback: join(PHASE_DIR, 'user_feedback.md'),
};

function save(checkpoints: CheckpointManager, kind: Kind, version: number): Promise<unknown> {
  switch (kind) {
    case 'agent output':
      return checkpoints.saveAgentOutput({
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        output_content: `version ${version}\n`,
      });
    case 'checkpoint':
      return checkpoints.saveCheckpoint({
        ...REF,
        phase_num: 1,
        status: 'in_progress',
        agents: [{ agent_name: 'writer', status: 'completed' }],
        retry_count: version,
      });
    case 'feedback':
      return checkpoints.saveUserFeedback({
        ...REF,
        phase_num: 1,
        reviewed: true,
        approved: false,
        comments: `v${version}`,
      });
  }
}

async function snapshot(base: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const path of await listFiles(base)) files.set(path, await readFile(join(base, path)));
  return files;
}

const notLockFiles = (path: string) => !basename(path).startsWith('.lock');

async function setup() {
  const faulty = new FaultyFs();
  const { base, checkpoints } = await managers({ store: { fs: faulty.fs, lockTimeoutMs: 2_000 } });
  await checkpoints.createSession({ ...REF, user_id: 'u', execution_mode: 'full' });
  return { faulty, base, checkpoints };
}

const KINDS: Kind[] = ['agent output', 'checkpoint', 'feedback'];
const STEPS = ['write', 'fsync', 'rename'] as const;
const CODES = ['ENOSPC', 'EIO'] as const;
const SCOPES = [
  ['every file', undefined],
  ['data files only', notLockFiles],
] as const;

describe('injected disk faults', () => {
  const cases = KINDS.flatMap((kind) =>
    STEPS.flatMap((step) =>
      CODES.flatMap((code) => SCOPES.map(([scope, only]) => ({ kind, step, code, scope, only }))),
    ),
  );

  it.each(cases)(
    '$code on $step ($scope) while saving a $kind: INTERNAL, nothing changed, no temp file, the next save works',
    async ({ kind, step, code, only }) => {
      const { faulty, base, checkpoints } = await setup();
      await save(checkpoints, kind, 1);
      const before = await snapshot(base);
      const previous = before.get(TARGET[kind]) as Buffer;

      faulty.fault = { step, code, ...(only ? { only } : {}) } as Fault;
      const error = await save(checkpoints, kind, 2).catch((caught: unknown) => caught);
      faulty.fault = undefined;

      expect(error).toBeInstanceOf(CheckpointError);
      expect(error).toMatchObject({ code: 'INTERNAL' });
      expect((error as Error).message).toContain(code);
      expect(faulty.failures).toBeGreaterThan(0);
      expect(await tempFiles(base)).toEqual([]);
      const after = await snapshot(base);
      const outsideHistory = (files: Map<string, Buffer>) =>
        [...files].filter(([path]) => !path.includes('/history/'));
      expect(outsideHistory(after)).toEqual(outsideHistory(before));
      // A rename that fails comes after the old version was archived: history may hold it, nothing else.
      for (const [path, bytes] of after) if (path.includes('/history/')) expect(bytes).toEqual(previous);

      await save(checkpoints, kind, 2);
      const done = await snapshot(base);
      expect(done.get(TARGET[kind])).not.toEqual(previous);
      const archived = [...done].filter(
        ([path, bytes]) => path.includes('/history/') && bytes.equals(previous),
      );
      expect(archived.map(([path]) => basename(path))).toEqual([
        basename(TARGET[kind]).replace('.md', '.v1.md'),
      ]);
      expect(await tempFiles(base)).toEqual([]);
    },
  );

  it('EIO on the directory fsync after the rename fails the call and says the new version is in place', async () => {
    const { faulty, base, checkpoints } = await setup();
    // Two saves first, so that history/ exists and the phase directory is flushed only after the rename.
    await save(checkpoints, 'agent output', 1);
    await save(checkpoints, 'agent output', 2);
    faulty.fault = { step: 'directory-fsync', code: 'EIO', only: (path) => path.endsWith('phase_1_concept') };
    const error = await save(checkpoints, 'agent output', 3).catch((caught: unknown) => caught);
    faulty.fault = undefined;
    expect(error).toMatchObject({ code: 'INTERNAL' });
    expect((error as Error).message).toMatch(/EIO.*in place but may not survive a power loss/);
    expect(await tempFiles(base)).toEqual([]);
    expect(await readFile(join(base, TARGET['agent output']), 'utf8')).toContain('version 3');
    await save(checkpoints, 'agent output', 4);
    const page = await checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' });
    expect(page.content).toBe('version 4\n');
  });
});
