import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SERVER_ENTRY } from '../helpers/client.js';
import { CODE_REVIEW } from '../helpers/workflows.js';

/**
 * A workflow of the user's own, run over stdio against the built bin through every tool, from its
 * definition to export_session; an idea_validation session beside it in the same base directory.
 */
const QUICK = { project_id: 'reviews', session_id: 'pr-17' };
const DEEP = { project_id: 'reviews', session_id: 'pr-18' };
const REVIEW_TEXT = '# Reading\n\nThe change touches `store.ts`.\n\n- [ ] tests\n';

let base: string;
let client: Client;

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-workflows-'));
  client = new Client(
    { name: 'checkpoint-mcp-tests', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } } },
  );
  await client.connect(
    new StdioClientTransport({ command: process.execPath, args: [SERVER_ENTRY, '--base-dir', base] }),
  );
});

afterAll(async () => {
  await client?.close();
  await rm(base, { recursive: true, force: true });
});

async function ok(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, `${name}: ${JSON.stringify(result.content)}`).toBeFalsy();
  return result.structuredContent as Record<string, unknown>;
}

/** The error text of a call that must fail. */
async function fails(name: string, args: Record<string, unknown>): Promise<string> {
  const result = await client.callTool({ name, arguments: args });
  expect(result.isError, `${name} should fail: ${JSON.stringify(result.structuredContent)}`).toBe(true);
  const first = (result.content as Array<{ type: string; text?: string }>)[0];
  return first?.text ?? '';
}

function promptText(prompt: { messages: Array<{ content: { type: string; text?: string } }> }): string {
  return prompt.messages.map((message) => message.content.text ?? '').join('\n');
}

describe('a three-phase code_review workflow over stdio, definition to export', () => {
  it('is defined, listed and read back', async () => {
    expect(await ok('define_workflow', CODE_REVIEW)).toEqual({ workflow_type: 'code_review', revision: 1 });
    const listed = (await ok('list_workflows', {})).workflows as Array<Record<string, unknown>>;
    expect(listed.map((workflow) => [workflow.workflow_type, workflow.modes])).toEqual([
      ['idea_validation', ['mvp', 'full']],
      ['code_review', ['quick', 'deep']],
    ]);
    expect(await ok('get_workflow', { workflow_type: 'code_review' })).toEqual({
      ...CODE_REVIEW,
      revision: 1,
    });
    const document = await readFile(join(base, 'workflows', 'code_review.md'), 'utf8');
    expect(document).toMatch(/\| 2 +\| Deep review +\| deep_review +\|/);
  });

  it('runs a project and a quick session through the session tools', async () => {
    const project = await ok('create_project', {
      project_id: 'reviews',
      user_id: 'u1',
      startup_idea: 'Review every pull request of the store.',
      workflow_type: 'code_review',
      execution_mode: 'deep',
    });
    expect(project).toMatchObject({ workflow_type: 'code_review', execution_mode: 'deep' });
    expect(await ok('get_project', { project_id: 'reviews' })).toMatchObject({
      workflow_type: 'code_review',
    });
    expect(((await ok('list_projects', {})).projects as unknown[]).length).toBe(1);

    expect(
      await ok('create_session', {
        ...QUICK,
        user_id: 'u1',
        workflow_type: 'code_review',
        execution_mode: 'quick',
      }),
    ).toMatchObject({ execution_mode: 'quick', phases: [1, 3] });
    expect((await readdir(join(base, 'reviews', 'sessions', 'pr-17'))).sort()).toEqual([
      'phase_1_read',
      'phase_3_verdict',
      'session_manifest.md',
    ]);
    // start_session takes the project's workflow and mode.
    const started = await ok('start_session', { project_id: 'reviews' });
    expect(started).toMatchObject({ execution_mode: 'deep', phases: [1, 2, 3], current_phase: 0 });

    const saved = await ok('save_agent_output', {
      ...QUICK,
      phase_num: 1,
      agent_name: 'reader',
      output_content: 'first reading\n',
    });
    expect(saved.file).toBe('reviews/sessions/pr-17/phase_1_read/reader.md');
    await ok('save_agent_output', {
      ...QUICK,
      phase_num: 1,
      agent_name: 'reader',
      output_content: REVIEW_TEXT,
    });
    const outside = await fails('save_agent_output', {
      ...QUICK,
      phase_num: 2,
      agent_name: 'reader',
      output_content: 'x',
    });
    expect(outside).toMatch(/^PHASE_NOT_IN_MODE: /);
    expect(outside).toContain('1, 3');
    expect(
      await fails('save_agent_output', { ...QUICK, phase_num: 4, agent_name: 'r', output_content: 'x' }),
    ).toMatch(/^PHASE_NOT_IN_MODE: /);

    expect(
      await ok('save_checkpoint', {
        ...QUICK,
        phase_num: 1,
        status: 'completed',
        agents: [
          { agent_name: 'reader', status: 'completed', cost: 0.02, input_tokens: 100, output_tokens: 40 },
        ],
      }),
    ).toEqual({ phase_num: 1, status: 'completed', revision: 2 });
    expect(
      await ok('save_user_feedback', { ...QUICK, phase_num: 1, reviewed: true, approved: true }),
    ).toMatchObject({ phase_num: 1 });
    expect(await ok('get_approved_phases', QUICK)).toMatchObject({ phases: [1] });

    const loaded = await ok('load_session', QUICK);
    expect(loaded).toMatchObject({
      workflow_type: 'code_review',
      execution_mode: 'quick',
      completed_phases: [1],
      next_phase: 3,
      phase_statuses: { '1': 'completed', '3': 'pending' },
      metrics: { total_tokens: 140, total_cost: 0.02 },
    });
    expect(await ok('resume_session', QUICK)).toMatchObject({ next_phase: 3, reason: 'next_phase' });
    expect(await ok('get_phase_outputs', QUICK)).toEqual({
      outputs: { '1': { reader: REVIEW_TEXT } },
      truncated: [],
    });
    expect(await ok('get_agent_output', { ...QUICK, phase_num: 1, agent_name: 'reader' })).toMatchObject({
      content: REVIEW_TEXT,
    });
    expect(
      await ok('get_agent_output', { ...QUICK, phase_num: 1, agent_name: 'reader', version: 1 }),
    ).toMatchObject({
      content: 'first reading\n',
    });
    const history = await ok('list_history', { ...QUICK, phase_num: 1 });
    expect(history.versions).toEqual([expect.objectContaining({ file: 'reader.md', version: 1 })]);
    expect(await ok('validate_checkpoint', { ...QUICK, phase_num: 1 })).toMatchObject({ is_valid: true });

    await ok('save_agent_output', {
      ...QUICK,
      phase_num: 3,
      agent_name: 'judge',
      output_content: 'approve\n',
    });
    await ok('save_checkpoint', {
      ...QUICK,
      phase_num: 3,
      status: 'completed',
      agents: [{ agent_name: 'judge', status: 'completed' }],
    });
    expect(await ok('load_session', QUICK)).toMatchObject({ status: 'completed', completed_phases: [1, 3] });
    expect(await ok('validate_session', QUICK)).toMatchObject({ is_valid: true, errors: [] });
    const sessions = (await ok('list_sessions', { project_id: 'reviews' })).sessions as Array<
      Record<string, unknown>
    >;
    expect(sessions.map((session) => session.execution_mode).sort()).toEqual(['deep', 'quick']);

    const exported = await ok('export_session', QUICK);
    const report = JSON.stringify(exported);
    expect(report).toContain('Read the change');
    expect(report).toContain('Verdict');
    expect(report).not.toContain('Deep review');
    expect(report).not.toContain('Concept');
  });

  it('follows the workflow in resources, prompts and completion', async () => {
    const uri = 'checkpoint://reviews/sessions/pr-17/phase_1_read/reader.md';
    const listed = await client.listResources();
    expect(listed.resources.map((resource) => resource.uri)).toContain(uri);
    const read = await client.readResource({ uri });
    expect(read.contents[0] && 'text' in read.contents[0] ? read.contents[0].text : '').toContain(
      REVIEW_TEXT,
    );

    const review = await client.getPrompt({ name: 'review_phase', arguments: { ...QUICK, phase_num: '3' } });
    expect(promptText(review)).toContain('Verdict');
    const first = await client.getPrompt({ name: 'review_phase', arguments: { ...QUICK, phase_num: '1' } });
    expect(promptText(first)).toContain('Read the change');
    const resume = await client.getPrompt({ name: 'resume_session', arguments: QUICK });
    expect(promptText(resume)).toContain('(code_review, quick mode)');

    const completion = await client.complete({
      ref: { type: 'ref/prompt', name: 'review_phase' },
      argument: { name: 'phase_num', value: '' },
      context: { arguments: QUICK },
    });
    expect(completion.completion.values).toEqual(['1', '3']);
  });

  it('a workflow edited by hand changes new sessions and leaves a running one as it was', async () => {
    await ok('create_session', {
      ...DEEP,
      user_id: 'u1',
      workflow_type: 'code_review',
      execution_mode: 'deep',
    });
    await ok('save_agent_output', { ...DEEP, phase_num: 2, agent_name: 'analyst', output_content: 'deep\n' });

    const file = join(base, 'workflows', 'code_review.md');
    const edited = (await readFile(file, 'utf8'))
      .replace(/\| 3 +\| Verdict +\| verdict +\|/, '| 3 | Final verdict | verdict |')
      .replace(/(\| deep +\| 1, 2, 3 +\|)/, '$1\n| skim | 1 |');
    expect(edited).toContain('Final verdict');
    expect(edited).toContain('| skim | 1 |');
    await writeFile(file, edited);

    expect(await ok('get_workflow', { workflow_type: 'code_review' })).toMatchObject({
      modes: [
        { name: 'quick', phases: [1, 3] },
        { name: 'deep', phases: [1, 2, 3] },
        { name: 'skim', phases: [1] },
      ],
    });
    expect(
      await ok('create_session', {
        project_id: 'reviews',
        session_id: 'pr-19',
        user_id: 'u1',
        workflow_type: 'code_review',
        execution_mode: 'skim',
      }),
    ).toMatchObject({ phases: [1] });
    const fresh = await client.getPrompt({
      name: 'review_phase',
      arguments: { project_id: 'reviews', session_id: 'pr-19', phase_num: '1' },
    });
    expect(promptText(fresh)).toContain('Read the change');

    // The running session keeps its phase names, folders and mode.
    await ok('save_checkpoint', { ...DEEP, phase_num: 3, status: 'in_progress', agents: [] });
    expect(await readdir(join(base, 'reviews', 'sessions', 'pr-18'))).toContain('phase_3_verdict');
    const exported = JSON.stringify(await ok('export_session', DEEP));
    expect(exported).toContain('Verdict');
    expect(exported).not.toContain('Final verdict');
    expect(await ok('load_session', DEEP)).toMatchObject({ execution_mode: 'deep', next_phase: 1 });

    // Updating through the tool makes a new revision; the sessions stay as they are.
    expect(
      await ok('define_workflow', {
        ...CODE_REVIEW,
        modes: [...CODE_REVIEW.modes, { name: 'skim', phases: [1] }],
      }),
    ).toEqual({ workflow_type: 'code_review', revision: 2 });
    expect(await ok('validate_session', DEEP)).toMatchObject({ is_valid: true });
  });

  it('a malformed workflow document is CORRUPT_FILE at its line for that workflow only', async () => {
    const text = (await readFile(join(base, 'workflows', 'code_review.md'), 'utf8'))
      .replace('Workflow Type: code_review', 'Workflow Type: broken')
      .replace(/\| 2 +\| Deep review/, '| two | Deep review');
    await writeFile(join(base, 'workflows', 'broken.md'), text);
    const line = text.split('\n').findIndex((row) => row.startsWith('| two ')) + 1;

    const error = await fails('get_workflow', { workflow_type: 'broken' });
    expect(error).toMatch(/^CORRUPT_FILE: /);
    expect(error).toContain(`workflows/broken.md:${line}`);
    expect(
      await fails('create_session', {
        project_id: 'other',
        session_id: 's1',
        user_id: 'u1',
        workflow_type: 'broken',
      }),
    ).toMatch(/^CORRUPT_FILE: /);
    const listed = (await ok('list_workflows', {})).workflows as Array<Record<string, unknown>>;
    expect(listed.find((workflow) => workflow.workflow_type === 'broken')?.problem).toContain(`:${line}`);
    expect(await ok('get_workflow', { workflow_type: 'code_review' })).toMatchObject({ revision: 2 });
    await ok('save_agent_output', {
      ...DEEP,
      phase_num: 1,
      agent_name: 'reader',
      output_content: 'still works\n',
    });
  });

  it('unknown and built-in workflow types get the errors that say what to call', async () => {
    const unknown = await fails('create_session', {
      project_id: 'x',
      session_id: 's',
      user_id: 'u',
      workflow_type: 'nope',
    });
    expect(unknown).toMatch(/^NOT_FOUND: /);
    expect(unknown).toMatch(
      /the workflows there are idea_validation, .*code_review.*: pass one of them as workflow_type, or call define_workflow/,
    );
    expect(await fails('define_workflow', { ...CODE_REVIEW, workflow_type: 'idea_validation' })).toMatch(
      /^CONFLICT: /,
    );
    expect(
      await fails('create_project', { project_id: 'workflows', user_id: 'u', startup_idea: 'x' }),
    ).toMatch(/^INVALID_ARGUMENT: /);
  });

  it('a phase number outside 1 to 99 in a definition is refused by its schema, which lists that range', async () => {
    const listed = (await client.listTools()).tools.find((tool) => tool.name === 'define_workflow');
    const phases = listed?.inputSchema.properties?.phases as { items: { properties: { num: object } } };
    expect(phases.items.properties.num).toMatchObject({ type: 'integer', minimum: 1, maximum: 99 });
    for (const num of [0, 100]) {
      const phase = { num, name: 'Zero', folder: 'zero' };
      expect(
        await fails('define_workflow', {
          ...CODE_REVIEW,
          workflow_type: 'numbered',
          phases: [phase],
          modes: [{ name: 'only', phases: [num] }],
          default_mode: 'only',
        }),
      ).toMatch(/^INVALID_ARGUMENT: .*num must be from 1 to 99/);
    }
    expect(await fails('get_workflow', { workflow_type: 'numbered' })).toMatch(/^NOT_FOUND: /);
  });

  it('an idea_validation session in the same base directory is as it always was', async () => {
    expect(
      await ok('create_session', { project_id: 'ideas', session_id: 's1', user_id: 'u1' }),
    ).toMatchObject({
      execution_mode: 'mvp',
      phases: [1, 2, 3, 6, 7],
    });
    const manifest = await readFile(join(base, 'ideas', 'sessions', 's1', 'session_manifest.md'), 'utf8');
    expect(manifest).toMatch(/Workflow Type\W+idea_validation/);
    expect(manifest).not.toContain('Workflow Revision');
    expect(manifest).not.toContain('Folder');
    expect(
      (await readdir(join(base, 'ideas', 'sessions', 's1'))).filter((name) => name.startsWith('phase_')),
    ).toEqual([
      'phase_1_concept',
      'phase_2_market_research',
      'phase_3_niche_selection',
      'phase_6_validation',
      'phase_7_synthesis',
    ]);
    const project = await readFile(join(base, 'ideas', 'project.md'), 'utf8');
    expect(project).not.toContain('Workflow Type');
  });
});
