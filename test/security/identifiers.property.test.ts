import { realpath } from 'node:fs/promises';
import { join, sep } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { CheckpointError } from '../../src/checkpoint/model/errors.js';
import { agentNameProblem, identifierProblem } from '../../src/checkpoint/model/identifiers.js';
import type { Engine } from '../../src/checkpoint/store/engine.js';
import { AgentName, ProjectId, SessionId, UserId } from '../../src/schemas/common.js';
import { ENGINE } from '../helpers/engine.js';
import { openSandbox, type Sandbox, treeListing, treePaths } from './sandbox.js';

/** Pieces that make paths, encodings, look-alikes and reserved names when joined. */
const PIECES = [
  '..',
  '.',
  '/',
  '\\',
  'a',
  'B',
  '0',
  '_',
  '-',
  '%2e',
  '%2F',
  'C:',
  'CON',
  'nul',
  'com1',
  'Lpt9',
  '\u0000',
  '\n',
  '\u00e9',
  'e\u0301',
  '\u202E',
  '\u200B',
  '.md',
  '.lock',
  '.tmp',
  'history',
  'checkpoint',
  'USER_FEEDBACK',
  'sessions',
  '~',
  ' ',
  '\uFF0E',
];

const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));

/** Candidate identifiers: unicode noise, path-like joins, near-valid names around the length limit. */
const candidate = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: 'binary-ascii', maxLength: 12 }),
  fc.string({ unit: fc.oneof(fc.constantFrom('a', '.', '-'), loneSurrogate), maxLength: 6 }),
  fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,8}$/),
  fc
    .tuple(fc.integer({ min: 120, max: 135 }), fc.constantFrom('a', 'Z', '9', '_'))
    .map(([length, char]) => `a${char.repeat(length - 1)}`),
);

/** Names of the allowed characters, so that pairs of identifiers are often both valid. */
const nearlyValid = fc.oneof(candidate, fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,12}$/));

const open: Sandbox[] = [];
afterEach(async () => {
  for (const sandbox of open.splice(0)) await sandbox.close();
});

async function coreSandbox(): Promise<{
  sandbox: Sandbox;
  checkpoints: CheckpointManager;
  expectInside: (relative: string) => Promise<void>;
}> {
  const sandbox = await openSandbox({ store: { durable: false } });
  open.push(sandbox);
  const realBase = await realpath(sandbox.base);
  const store = sandbox.store as Engine;
  return {
    sandbox,
    checkpoints: sandbox.checkpoints as CheckpointManager,
    // On the file engine the real path must be below the base; elsewhere the engine holds it by that path.
    expectInside: (relative) =>
      ENGINE === 'file' ? expectInside(realBase, relative) : expectStored(store, relative),
  };
}

/** The error's code, or rethrows what is not a CheckpointError (a crash, not a refusal). */
function refusal(error: unknown): string {
  if (error instanceof CheckpointError) return error.code;
  throw error;
}

async function expectInside(realBase: string, relative: string): Promise<void> {
  const real = await realpath(join(realBase, relative));
  expect(real.startsWith(realBase + sep), `${real} is outside ${realBase}`).toBe(true);
  expect(real).toBe(join(realBase, relative));
}

async function expectStored(store: Engine, relative: string): Promise<void> {
  expect(await store.exists(relative.split('/')), `${relative} is not stored`).toBe(true);
}

describe('random identifiers either pass validation and stay inside the base, or are INVALID_ARGUMENT', () => {
  it('the zod schemas and the core rules accept exactly the same identifiers', () => {
    fc.assert(
      fc.property(candidate, (value) => {
        const valid = identifierProblem(value) === undefined;
        expect(ProjectId.safeParse(value).success).toBe(valid);
        expect(SessionId.safeParse(value).success).toBe(valid);
        expect(UserId.safeParse(value).success).toBe(valid);
        expect(AgentName.safeParse(value).success).toBe(agentNameProblem(value) === undefined);
        if (valid) {
          expect(value).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/);
          expect(value).not.toContain('..');
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('create_session at the core: accepted ids make directories under the base, others are refused', async () => {
    const { sandbox, checkpoints, expectInside } = await coreSandbox();
    const canary = await treeListing(sandbox.canary);
    const evil = await treeListing(sandbox.evil);
    const seen = { ok: 0, refused: 0 };
    const store = sandbox.store as Engine;
    /** Whether the folder `parent` holds a folder named `name` in other letters (a case twin). */
    const twinIn = async (parent: string[], name: string) =>
      (await store.list(parent)).some(
        (entry) => entry.name !== name && entry.name.toLowerCase() === name.toLowerCase(),
      );
    await fc.assert(
      fc.asyncProperty(nearlyValid, nearlyValid, async (projectId, sessionId) => {
        const valid =
          identifierProblem(projectId) === undefined && identifierProblem(sessionId) === undefined;
        // An id differing only in letter case from one made before is CONFLICT, as on macOS and Windows.
        const twin =
          valid && ((await twinIn([], projectId)) || (await twinIn([projectId, 'sessions'], sessionId)));
        let outcome: string;
        try {
          const created = await checkpoints.createSession({
            project_id: projectId,
            session_id: sessionId,
            user_id: 'u1',
          });
          outcome = 'ok';
          expect(created.path).toBe(`${projectId}/sessions/${sessionId}`);
          await expectInside(created.path);
          await expectInside(`${created.path}/session_manifest.md`);
          await expectInside(`${projectId}/project.md`);
        } catch (error) {
          outcome = refusal(error);
        }
        expect(outcome).toBe(valid ? (twin ? 'CONFLICT' : 'ok') : 'INVALID_ARGUMENT');
        seen[outcome === 'ok' ? 'ok' : 'refused']++;
      }),
      { numRuns: 300 },
    );
    // Both sides of the property are exercised, not only the refusals.
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.refused).toBeGreaterThan(100);
    expect(await treeListing(sandbox.canary)).toEqual(canary);
    expect(await treeListing(sandbox.evil)).toEqual(evil);
    expect(
      (await treePaths(sandbox.root)).filter((path) => !/^(base|canary|base_evil)(\/|$)/.test(path)),
    ).toEqual(['.']);
  });

  it('save_agent_output at the core: accepted agent names write {name}.md in the phase directory, others are refused', async () => {
    const { sandbox, checkpoints, expectInside } = await coreSandbox();
    const ref = { project_id: 'proj', session_id: 's1' };
    await checkpoints.createSession({ ...ref, user_id: 'u1' });
    const saved = new Set<string>();
    const seen = { ok: 0 };
    const canary = await treeListing(sandbox.canary);
    await fc.assert(
      fc.asyncProperty(nearlyValid, async (agentName) => {
        const valid = agentNameProblem(agentName) === undefined;
        // Linux keeps both files, but a name that differs only in case from a saved one is a CONFLICT.
        const twin = [...saved].some(
          (name) => name !== agentName && name.toLowerCase() === agentName.toLowerCase(),
        );
        let outcome: string;
        try {
          const result = await checkpoints.saveAgentOutput({
            ...ref,
            phase_num: 1,
            agent_name: agentName,
            output_content: `output of ${agentName}`,
          });
          outcome = 'ok';
          saved.add(agentName);
          seen.ok++;
          expect(result.file).toBe(`proj/sessions/s1/phase_1_concept/${agentName}.md`);
          await expectInside(result.file);
        } catch (error) {
          outcome = refusal(error);
        }
        expect(outcome).toBe(!valid ? 'INVALID_ARGUMENT' : twin ? 'CONFLICT' : 'ok');
      }),
      { numRuns: 300 },
    );
    expect(seen.ok).toBeGreaterThan(20);
    expect(await treeListing(sandbox.canary)).toEqual(canary);
  });

  it('the store itself refuses unsafe path segments, whatever the caller validated', async () => {
    const { sandbox } = await coreSandbox();
    const store = sandbox.store;
    if (!store) throw new Error('in-process sandbox has a store');
    await fc.assert(
      fc.asyncProperty(candidate, async (segment) => {
        let outcome: string;
        try {
          await store.read(['proj', segment]);
          outcome = 'ok';
        } catch (error) {
          outcome = refusal(error);
        }
        const safe = /^[A-Za-z0-9_.-]{1,255}$/.test(segment) && segment !== '.' && segment !== '..';
        expect(outcome).toBe(safe ? 'ok' : 'INVALID_ARGUMENT');
      }),
      { numRuns: 500 },
    );
  });
});
