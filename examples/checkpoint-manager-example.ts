/**
 * The seed flow, end to end, through a real MCP client talking to the built server over stdio:
 * project, session, phase 1 output, checkpoint, review, resume with load_session, phase outputs,
 * validation. Run with `npm run example`.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';

const baseDir = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-example-'));
const transport = new StdioClientTransport({
  command: process.execPath,
  args: [new URL('../dist/server.js', import.meta.url).pathname, '--base-dir', baseDir],
  stderr: 'ignore',
});
const client = new Client({ name: 'checkpoint-manager-example', version: '1.0.0' });

async function call(name: string, args: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name, arguments: args })) as CallToolResult;
  const text = result.content[0]?.type === 'text' ? result.content[0].text : '';
  if (result.isError) throw new Error(`${name}: ${text}`);
  console.log(`\n> ${name} ${JSON.stringify(args).slice(0, 160)}`);
  console.log(JSON.stringify(result.structuredContent, null, 2));
  return result.structuredContent as Record<string, unknown>;
}

try {
  await client.connect(transport);
  console.log(`checkpoint-mcp ${client.getServerVersion()?.version}, base directory ${baseDir}`);

  const project = await call('create_project', {
    user_id: 'user-789',
    project_name: 'AI Recipe Planner',
    startup_idea: 'An app that plans a week of meals from what is already in the fridge.',
  });
  const ids = { project_id: 'project-123', session_id: 'session-456' };
  await call('create_session', { ...ids, user_id: 'user-789', execution_mode: 'mvp' });
  await call('start_session', { project_id: project.project_id });

  await call('save_agent_output', {
    ...ids,
    phase_num: 1,
    agent_name: 'concept_expansion',
    output_content:
      '# Concept\n\n## Problem\nFood waste at home.\n\n| Segment | Size |\n|---|---|\n| Families | 40M |\n',
    model: 'claude-sonnet-4-5',
    input_tokens: 1200,
    output_tokens: 3400,
    duration: 41.5,
  });
  await call('save_checkpoint', {
    ...ids,
    phase_num: 1,
    status: 'completed',
    started: '2024-11-24T10:00:00Z',
    completed: '2024-11-24T10:02:00.5Z',
    agents: [
      {
        agent_name: 'concept_expansion',
        status: 'completed',
        input_tokens: 1200,
        output_tokens: 3400,
        cost: 0.0375,
        duration: 41.5,
      },
    ],
  });
  await call('save_user_feedback', {
    ...ids,
    phase_num: 1,
    reviewed: true,
    approved: true,
    comments: 'Good start. Focus on families next.',
  });

  console.log('\n--- the process could stop here; a new agent resumes: ---');
  const state = await call('load_session', ids);
  await call('get_phase_outputs', { ...ids, phase_nums: [1] });
  await call('validate_checkpoint', { ...ids, phase_num: 1 });
  await call('get_approved_phases', ids);
  console.log(`\nnext phase to run: ${state.next_phase}`);

  console.log('\nfiles written:');
  for (const entry of await readdir(baseDir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) console.log(`  ${relative(baseDir, join(entry.parentPath, entry.name))}`);
  }
} finally {
  await client.close();
  await rm(baseDir, { recursive: true, force: true });
}
