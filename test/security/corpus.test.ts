import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertAlive, CORPUS, runCase, SMALL_LIMITS, seed } from './corpus.js';
import { openSandbox, type Sandbox, treeListing, treePaths } from './sandbox.js';

describe('a corpus of hostile tool calls', () => {
  let sandbox: Sandbox;
  const before: Record<'stored' | 'base' | 'canary' | 'evil', string[]> = {
    stored: [],
    base: [],
    canary: [],
    evil: [],
  };

  beforeAll(async () => {
    sandbox = await openSandbox({ limits: SMALL_LIMITS });
    await seed(sandbox.client);
    before.stored = await sandbox.storedListing();
    before.base = await treeListing(sandbox.base);
    before.canary = await treeListing(sandbox.canary);
    before.evil = await treeListing(sandbox.evil);
  });

  afterAll(async () => {
    await sandbox.close();
  });

  it('has at least 150 cases, with unique names, across every tool that takes an identifier or text', () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(150);
    expect(new Set(CORPUS.map((hostile) => hostile.name)).size).toBe(CORPUS.length);
    expect(new Set(CORPUS.map((hostile) => hostile.tool))).toEqual(
      new Set([
        'create_project',
        'get_project',
        'archive_project',
        'list_projects',
        'create_session',
        'start_session',
        'load_session',
        'list_sessions',
        'save_checkpoint',
        'save_agent_output',
        'save_user_feedback',
        'get_approved_phases',
        'get_phase_outputs',
        'get_agent_output',
        'list_history',
        'validate_checkpoint',
        'validate_session',
        'resume_session',
        'export_session',
        'define_workflow',
        'get_workflow',
      ]),
    );
  });

  it.for(CORPUS)('$name is $code', async (hostile) => {
    const { code, text } = await runCase(sandbox.client, hostile);
    expect(code, text.slice(0, 400)).toBe(hostile.code);
    // Messages name paths relative to the base and never quote a file from outside it.
    expect(text).not.toContain(sandbox.root);
    expect(text).not.toContain(sandbox.marker);
    await assertAlive(sandbox.client);
  });

  it('leaves canary/ and base_evil/ byte for byte, and the store exactly as the setup wrote it', async () => {
    expect(await treeListing(sandbox.canary)).toEqual(before.canary);
    expect(await treeListing(sandbox.evil)).toEqual(before.evil);
    expect(await treePaths(sandbox.root)).toEqual(
      expect.arrayContaining(['.', 'base', 'canary', 'base_evil']),
    );
    expect(
      (await treePaths(sandbox.root)).filter((path) => !/^(base|canary|base_evil)(\/|$)/.test(path)),
    ).toEqual(['.']);
    expect(await treePaths(sandbox.base)).toEqual(before.base.map((line) => line.split(' ')[0]));
    expect(await treeListing(sandbox.base)).toEqual(before.base);
    expect(await sandbox.storedListing()).toEqual(before.stored);
    expect(before.stored.length).toBeGreaterThan(5);
  });
});
