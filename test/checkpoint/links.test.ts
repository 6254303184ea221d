import * as fsp from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isPlantedLink } from '../../src/checkpoint/model/errors.js';
import { listDocuments } from '../../src/checkpoint/session/documents.js';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { type Managers, managers, steppingClock, tempDir } from '../helpers/base-dir.js';
import { editDocument, fileOnly } from '../helpers/engine.js';
import { rejected } from '../helpers/errors.js';

const REF = { project_id: 'p1', session_id: 's1' } as const;
const SESSION = ['p1', 'sessions', 's1'] as const;

/** Session p1/s1 with an output and a checkpoint in phase 1, on a store that may use `fs`. */
async function session(fs?: StoreFs): Promise<Managers> {
  const m = await managers({ clock: steppingClock(), store: { durable: false, ...(fs ? { fs } : {}) } });
  await m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' });
  await m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'w' });
  await m.checkpoints.saveCheckpoint({
    ...REF,
    phase_num: 1,
    status: 'completed',
    agents: [{ agent_name: 'writer', status: 'completed' }],
  });
  return m;
}

/** A folder outside the base that looks like a phase, a session and a project at once. */
async function outsideTree(): Promise<string> {
  const outside = await tempDir('checkpoint-mcp-outside-');
  await fsp.writeFile(join(outside, 'project.md'), 'outside project\n');
  await fsp.writeFile(join(outside, 'checkpoint.md'), 'outside checkpoint\n');
  await fsp.writeFile(join(outside, 'session_manifest.md'), 'outside manifest\n');
  return outside;
}

const documents = async (m: Managers) =>
  (await listDocuments(m.store, undefined, 100)).map((entry) => `${entry.kind} ${entry.path.join('/')}`);

const EXPECTED_DOCUMENTS = [
  'project p1/project.md',
  'checkpoint p1/sessions/s1/phase_1_concept/checkpoint.md',
  'agent_output p1/sessions/s1/phase_1_concept/writer.md',
  'manifest p1/sessions/s1/session_manifest.md',
];

// Links exist only in a file tree: PostgreSQL has no way to store one, so those cases are the file engine's.
const LINK = 'a symbolic link planted in the file tree';

describe('a symbolic link in the tree is damaged storage', () => {
  it.skipIf(fileOnly(LINK))(
    'a phase folder replaced by a link makes load_session CORRUPT_FILE naming the path, not INVALID_ARGUMENT',
    async () => {
      const m = await session();
      const outside = await outsideTree();
      const phase2 = join(m.base, ...SESSION, 'phase_2_market_research');
      await fsp.rm(phase2, { recursive: true });
      await fsp.symlink(outside, phase2);

      const error = await rejected(m.checkpoints.loadSession(REF));
      expect(error).toMatchObject({
        code: 'CORRUPT_FILE',
        message:
          'p1/sessions/s1/phase_2_market_research is a symbolic link; the store never follows links. Replace it with a real file or directory',
      });
      expect(isPlantedLink(error)).toBe(true);
      // validate_session lists it as an error of that phase instead of failing.
      const report = await m.checkpoints.validateSession(REF);
      expect(report.is_valid).toBe(false);
      expect(report.phases['2']?.errors).toStrictEqual([error.message]);
      expect(await fsp.readFile(join(outside, 'checkpoint.md'), 'utf8')).toBe('outside checkpoint\n');
    },
  );

  it.skipIf(fileOnly(LINK))(
    'a manifest replaced by a link is refused naming the link, by create_session too, never rebuilt through it',
    async () => {
      const m = await session();
      const outside = await outsideTree();
      const manifest = join(m.base, ...SESSION, 'session_manifest.md');
      await fsp.rm(manifest);
      await fsp.symlink(join(outside, 'session_manifest.md'), manifest);
      const message =
        'p1/sessions/s1/session_manifest.md is a symbolic link; the store never follows links. Replace it with a real file or directory';
      for (const call of [
        () => m.checkpoints.createSession({ ...REF, user_id: 'u1', execution_mode: 'mvp' }),
        () => m.checkpoints.loadSession(REF),
        () => m.checkpoints.getApprovedPhases(REF),
        () =>
          m.checkpoints.saveAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer', output_content: 'x' }),
        () => m.checkpoints.getAgentOutput({ ...REF, phase_num: 1, agent_name: 'writer' }),
      ]) {
        expect(await rejected(call())).toMatchObject({ code: 'CORRUPT_FILE', message, plantedLink: true });
      }
      expect(await fsp.readFile(join(outside, 'session_manifest.md'), 'utf8')).toBe('outside manifest\n');
      expect(await fsp.readlink(manifest)).toBe(join(outside, 'session_manifest.md'));
    },
  );

  it.skipIf(fileOnly(LINK))(
    'a review replaced by a link overrides nothing: load_session answers, validate_checkpoint names the link',
    async () => {
      const m = await session();
      const outside = await outsideTree();
      await fsp.symlink(
        join(outside, 'checkpoint.md'),
        join(m.base, ...SESSION, 'phase_1_concept', 'user_feedback.md'),
      );
      expect(await m.checkpoints.loadSession(REF)).toMatchObject({
        phase_statuses: { '1': 'completed' },
        next_phase: 2,
      });
      expect(await m.checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
        is_valid: false,
        errors: [
          'p1/sessions/s1/phase_1_concept/user_feedback.md is a symbolic link; the store never follows links. Replace it with a real file or directory',
        ],
        warnings: [],
      });
    },
  );

  it('a corrupt file is no planted link', async () => {
    const m = await session();
    await editDocument(m, [...SESSION, 'phase_1_concept', 'checkpoint.md'], 'scribbled over\n');
    const error = await rejected(m.checkpoints.loadSession(REF));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(isPlantedLink(error)).toBe(false);
  });

  it.skipIf(fileOnly(LINK))(
    'the resource listing passes over links planted as a project, a session and a document',
    async () => {
      const m = await session();
      const outside = await outsideTree();
      await fsp.symlink(outside, join(m.base, 'evil'));
      await fsp.symlink(outside, join(m.base, 'p1', 'sessions', 's2'));
      await fsp.symlink(
        join(outside, 'checkpoint.md'),
        join(m.base, ...SESSION, 'phase_1_concept', 'evil.md'),
      );
      await fsp.rm(join(m.base, ...SESSION, 'phase_2_market_research'), { recursive: true });
      await fsp.symlink(outside, join(m.base, ...SESSION, 'phase_2_market_research'));
      expect(await documents(m)).toStrictEqual(EXPECTED_DOCUMENTS);
    },
  );

  it.skipIf(fileOnly(LINK))(
    'the resource listing passes over a folder swapped for a link after it was listed',
    async () => {
      const outside = await outsideTree();
      let swap: string | undefined;
      const fs: StoreFs = {
        ...nodeFs,
        readdir: (async (...args: Parameters<typeof fsp.readdir>) => {
          const entries = await fsp.readdir(...args);
          // The swap happens once, right after the session folder is listed and before it is walked into.
          if (swap !== undefined && String(args[0]).endsWith(join('sessions', 's1'))) {
            const phase1 = join(String(args[0]), 'phase_1_concept');
            await fsp.rename(phase1, join(swap, 'moved'));
            await fsp.symlink(outside, phase1);
            swap = undefined;
          }
          return entries;
        }) as StoreFs['readdir'],
      };
      const m = await session(fs);
      swap = await tempDir('checkpoint-mcp-aside-');
      expect(await documents(m)).toStrictEqual([
        'project p1/project.md',
        'manifest p1/sessions/s1/session_manifest.md',
      ]);
      expect(swap).toBeUndefined();
    },
  );
});
