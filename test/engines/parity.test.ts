import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { describe, expect, it } from 'vitest';
import { FsStore } from '../../src/checkpoint/store/fs/fs-store.js';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { exportTree } from '../../src/checkpoint/store/postgres/pg-tree.js';
import { steppingClock, tempDir } from '../helpers/base-dir.js';
import { type Connected, connectedClient } from '../helpers/client.js';
import type { EngineName } from '../helpers/engine.js';

// The same calls, on the same clock, against the file engine and PostgreSQL side by side: every
// answer must be the same JSON, and PostgreSQL exported as files must be the file engine's tree.

const SEED = { project_id: 'project-123', session_id: 'session-456' } as const;
const OUTPUT = `# Concept Expansion

## Problem
Busy parents waste food and time deciding what to cook.

## Metadata
This heading belongs to the output, not to the file.
`;
/** Replaced by the id start_session gave on each engine (random bits: the one value that differs). */
const STARTED = '$STARTED';

/** A call, and the error code it must be answered with (none: it must succeed). */
type Step = [tool: string, args: Record<string, unknown>, refusal?: string];

/** The seed usage of the README, then every other tool, each also with arguments it must refuse. */
const STEPS: Step[] = [
  ['create_session', { ...SEED, user_id: 'user-789', execution_mode: 'mvp' }],
  [
    'save_checkpoint',
    {
      ...SEED,
      phase_num: 1,
      status: 'completed',
      started: '2024-11-24T10:00:00Z',
      completed: '2024-11-24T10:02:00.5Z',
      agents: [
        {
          agent_name: 'concept_expansion',
          status: 'completed',
          input_tokens: 1200,
          output_tokens: 2300,
          cost: 0.0375,
          duration: 118.5,
        },
      ],
    },
  ],
  [
    'save_agent_output',
    {
      ...SEED,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: OUTPUT,
      duration: 118.5,
      model: 'claude-sonnet-4-5',
      input_tokens: 1200,
      output_tokens: 2300,
    },
  ],
  [
    'save_user_feedback',
    { ...SEED, phase_num: 1, reviewed: true, approved: true, comments: 'Great start. Focus on families.' },
  ],
  ['load_session', SEED],
  ['get_phase_outputs', SEED],
  ['validate_checkpoint', { ...SEED, phase_num: 1 }],
  ['get_approved_phases', SEED],
  // Beyond the seed: versions, every phase status, reviews that send back and skip, and the reports.
  [
    'save_agent_output',
    { ...SEED, phase_num: 1, agent_name: 'concept_expansion', output_content: `${OUTPUT}\nRevised.\n` },
  ],
  ['save_agent_output', { ...SEED, phase_num: 1, agent_name: 'concept_expansion', output_content: OUTPUT }],
  ['get_agent_output', { ...SEED, phase_num: 1, agent_name: 'concept_expansion' }],
  ['get_agent_output', { ...SEED, phase_num: 1, agent_name: 'concept_expansion', version: 2 }],
  ['get_agent_output', { ...SEED, phase_num: 1, agent_name: 'concept_expansion', offset: 10, max_chars: 20 }],
  ['list_history', { ...SEED, phase_num: 1 }],
  [
    'save_checkpoint',
    {
      ...SEED,
      phase_num: 2,
      status: 'in_progress',
      agents: [{ agent_name: 'market_research', status: 'in_progress' }],
    },
  ],
  [
    'save_agent_output',
    {
      ...SEED,
      phase_num: 2,
      agent_name: 'market_research',
      output_content: '| Competitor | Price |\n| --- | --- |\n| A | $9 |\n',
      status: 'completed',
      tools_used: ['web_search'],
    },
  ],
  [
    'save_checkpoint',
    {
      ...SEED,
      phase_num: 2,
      status: 'completed',
      agents: [{ agent_name: 'market_research', status: 'completed', tokens: 900, cost: 0.01 }],
      errors: ['one source timed out'],
    },
  ],
  [
    'save_user_feedback',
    {
      ...SEED,
      phase_num: 2,
      reviewed: true,
      approved: false,
      requested_changes: ['Add two competitors', 'Cite the prices'],
      action: 'retry_with_changes',
    },
  ],
  ['resume_session', SEED],
  ['load_session', SEED],
  ['save_user_feedback', { ...SEED, phase_num: 3, reviewed: true, approved: false, action: 'skip_phase' }],
  ['list_history', { ...SEED, phase_num: 2 }],
  ['get_phase_outputs', { ...SEED, phase_nums: [1, 2] }],
  ['validate_session', SEED],
  ['resume_session', SEED],
  ['export_session', SEED],
  [
    'create_project',
    {
      user_id: 'user-789',
      project_name: 'Meal Planner',
      startup_idea: 'Plan a week of meals\nfrom what is in the fridge.',
      execution_mode: 'full',
    },
  ],
  ['create_project', { user_id: 'user-789', project_name: 'Meal Planner', startup_idea: 'Again.' }],
  ['create_project', { user_id: 'other', project_id: 'p2', startup_idea: 'x' }],
  ['get_project', { project_id: 'meal-planner' }],
  ['get_project', { project_id: 'project-123' }],
  ['start_session', { project_id: 'meal-planner' }],
  ['load_session', { project_id: 'meal-planner', session_id: STARTED }],
  [
    'save_checkpoint',
    { project_id: 'meal-planner', session_id: STARTED, phase_num: 4, status: 'skipped', agents: [] },
  ],
  ['create_session', { project_id: 'project-123', session_id: 'session-789', user_id: 'user-789' }],
  ['list_sessions', { project_id: 'project-123' }],
  ['list_sessions', { project_id: 'project-123', limit: 1 }],
  ['list_sessions', { project_id: 'project-123', status: 'completed' }],
  ['list_sessions', { project_id: 'meal-planner' }],
  ['archive_project', { project_id: 'meal-planner-2' }],
  ['archive_project', { project_id: 'meal-planner-2' }],
  ['list_projects', {}],
  ['list_projects', { user_id: 'user-789', limit: 1 }],
  ['list_projects', { status: 'archived' }],
  ['validate_session', { project_id: 'meal-planner', session_id: STARTED }],
  ['export_session', { project_id: 'meal-planner', session_id: STARTED }],
  // Refusals: the same code and the same words on both engines, and nothing written.
  ['load_session', { ...SEED, session_id: 'missing' }, 'NOT_FOUND'],
  ['create_session', { ...SEED, user_id: 'user-789', execution_mode: 'full' }, 'CONFLICT'],
  ['save_checkpoint', { ...SEED, phase_num: 4, status: 'completed', agents: [] }, 'PHASE_NOT_IN_MODE'],
  ['get_agent_output', { ...SEED, phase_num: 1, agent_name: 'nobody' }, 'NOT_FOUND'],
  ['get_agent_output', { ...SEED, phase_num: 1, agent_name: 'concept_expansion', version: 9 }, 'NOT_FOUND'],
  [
    'save_agent_output',
    { ...SEED, phase_num: 1, agent_name: 'checkpoint', output_content: 'x' },
    'INVALID_ARGUMENT',
  ],
  [
    'save_agent_output',
    { ...SEED, phase_num: 1, agent_name: 'Concept_Expansion', output_content: 'x' },
    'CONFLICT',
  ],
  ['start_session', { project_id: 'meal-planner-2' }, 'CONFLICT'],
  ['get_project', { project_id: 'nope' }, 'NOT_FOUND'],
  ['list_sessions', { project_id: 'project-123', cursor: 'not-a-cursor' }, 'INVALID_ARGUMENT'],
  [
    'save_user_feedback',
    { ...SEED, phase_num: 1, reviewed: true, approved: true, action: 'retry_with_changes' },
    'INVALID_ARGUMENT',
  ],
  ['list_history', { ...SEED, phase_num: 4 }, 'PHASE_NOT_IN_MODE'],
];

interface Run {
  engine: EngineName;
  connected: Connected;
  started?: string;
  answers: unknown[];
}

describe('the file engine and PostgreSQL, side by side', () => {
  it('give the same answer to every tool call, resource read and prompt of the seed flow and beyond', async () => {
    const runs = await Promise.all(
      (['file', 'postgres'] as const).map(async (engine): Promise<Run> => {
        const connected = await connectedClient({ engine, clock: steppingClock() });
        return { engine, connected, answers: [] };
      }),
    );
    // One call at a time on each engine, in turn: the clocks step the same way on both.
    for (const [tool, args, refusal] of STEPS) {
      for (const run of runs) {
        const result = (await run.connected.client.callTool({
          name: tool,
          arguments: withStarted(args, run.started),
        })) as CallToolResult;
        const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
        const outcome = result.isError ? (/^([A-Z_]+): /.exec(text)?.[1] ?? text) : 'ok';
        expect(outcome, `${tool} on ${run.engine}: ${text.slice(0, 300)}`).toBe(refusal ?? 'ok');
        if (tool === 'start_session' && !result.isError)
          run.started = (result.structuredContent as { session_id: string }).session_id;
        run.answers.push({ tool, args, result: normalised(result, run.started) });
      }
    }
    for (const run of runs) run.answers.push(...(await browse(run)));
    const [file, postgres] = runs as [Run, Run];
    expect(file.connected.store).toBeInstanceOf(FsStore);
    expect(postgres.connected.store).toBeInstanceOf(PgStore);
    expect(file.answers.length).toBeGreaterThan(STEPS.length);
    expect(postgres.answers).toEqual(file.answers);

    // PostgreSQL exported as files is the file engine's tree, history included, byte for byte.
    const exported = join(await tempDir(), 'exported');
    const counts = await exportTree((postgres.connected.store as PgStore).connections, exported);
    expect(counts.skipped).toEqual([]);
    const fileTree = await files(file.connected.base, file.started);
    const pgTree = await files(exported, postgres.started);
    expect(Object.keys(pgTree)).toEqual(Object.keys(fileTree));
    expect(Object.keys(fileTree).filter((path) => path.includes('/history/')).length).toBeGreaterThan(3);
    expect(pgTree).toEqual(fileTree);
  });
});

/** Every resource listed and read, the templates, both prompts and a completion, as answers. */
async function browse(run: Run): Promise<unknown[]> {
  const { client } = run.connected;
  const answers: unknown[] = [];
  const uris: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await client.listResources(cursor === undefined ? {} : { cursor });
    answers.push({ listResources: normalised(page, run.started) });
    uris.push(...page.resources.map((resource) => resource.uri));
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  for (const uri of [...uris, 'checkpoint://project-123/sessions/session-456/report.md'])
    answers.push({ readResource: normalised(await client.readResource({ uri }), run.started) });
  answers.push({ templates: await client.listResourceTemplates() });
  answers.push({ prompts: await client.listPrompts() });
  answers.push({ prompt: await client.getPrompt({ name: 'resume_session', arguments: SEED }) });
  answers.push({
    prompt: await client.getPrompt({ name: 'review_phase', arguments: { ...SEED, phase_num: '2' } }),
  });
  const template = 'checkpoint://{project_id}/sessions/{session_id}/{phase_dir}/{agent_name}.md';
  answers.push({
    complete: await client.complete({
      ref: { type: 'ref/resource', uri: template },
      argument: { name: 'session_id', value: 'session' },
      context: { arguments: { project_id: 'project-123' } },
    }),
  });
  return answers;
}

function withStarted(args: Record<string, unknown>, started: string | undefined): Record<string, unknown> {
  return JSON.parse(JSON.stringify(args).replaceAll(STARTED, started ?? STARTED));
}

/**
 * A result with the values that legitimately differ made equal: the started session's random id, the
 * times a version was written (saved_at: the engine's own clock, not the managers'), and the time
 * inside a list_sessions cursor (a folder's creation time, taken from the engine). Text that holds
 * JSON (a tool result's text content) is normalised inside too.
 */
function normalised(value: unknown, started: string | undefined): unknown {
  if (typeof value === 'string') {
    const text = started === undefined ? value : value.replaceAll(started, STARTED);
    if (!/^[[{]/.test(text)) return text;
    try {
      return { json: normalised(JSON.parse(text), started) };
    } catch {
      return text;
    }
  }
  if (Array.isArray(value)) return value.map((item) => normalised(item, started));
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => {
      if (key === 'saved_at' && typeof item === 'string') return [key, '<engine time>'];
      if (key === 'next_cursor' && typeof item === 'string') return [key, cursorShape(item)];
      return [key, normalised(item, started)];
    }),
  );
}

/** A list_sessions cursor with its time replaced; other cursors unchanged. */
function cursorShape(cursor: string): string {
  const decoded = Buffer.from(cursor, 'base64url').toString('utf8');
  return decoded.replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/g, '<folder created>');
}

/** Every file below `root` but dot names (locks), by relative path, with its text; the started id made equal. */
async function files(root: string, started: string | undefined): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name).slice(root.length + 1);
    if (path.split('/').some((part) => part.startsWith('.'))) continue;
    const key = started === undefined ? path : path.replaceAll(started, STARTED);
    if (entry.isDirectory()) found[`${key}/`] = '';
    else found[key] = (await readFile(join(root, path), 'utf8')).replaceAll(started ?? STARTED, STARTED);
  }
  return Object.fromEntries(Object.entries(found).sort(([a], [b]) => (a < b ? -1 : 1)));
}
