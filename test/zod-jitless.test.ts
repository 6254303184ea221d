import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { callOk, SERVER_ENTRY } from './helpers/client.js';

const COUNTER = fileURLToPath(new URL('./fixtures/count-functions.cjs', import.meta.url));

describe('zod in the built server (src/zod-jitless.ts)', () => {
  it('compiles no parser of its own: a fresh server checks every argument and message without new Function', async () => {
    const dir = await tempDir();
    const madeFile = join(dir, 'functions-made');
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ['--require', COUNTER, SERVER_ENTRY, '--base-dir', join(dir, 'base')],
      env: { ...getDefaultEnvironment(), FUNCTIONS_MADE_FILE: madeFile },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'checkpoint-mcp-tests', version: '1.0.0' });
    await client.connect(transport);
    const ref = { project_id: 'jitless', session_id: 's1' };
    await callOk(client, 'create_session', { ...ref, user_id: 'u' });
    await callOk(client, 'save_agent_output', {
      ...ref,
      phase_num: 1,
      agent_name: 'writer',
      output_content: 'x',
    });
    await callOk(client, 'save_checkpoint', {
      ...ref,
      phase_num: 1,
      status: 'completed',
      agents: [{ agent_name: 'writer', status: 'completed', tokens: 10 }],
    });
    await callOk(client, 'load_session', ref);
    await callOk(client, 'list_sessions', { project_id: ref.project_id });
    const refused = await client.callTool({ name: 'load_session', arguments: { ...ref, phase_num: '1' } });
    expect(refused.isError).toBe(true);
    await client.close();
    // Written as the server exits, once the client has let it go.
    let made: string | undefined;
    for (let waited = 0; made === undefined && waited < 10_000; waited += 20) {
      made = await readFile(madeFile, 'utf8').catch(() => undefined);
      if (made === undefined) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(made).toBe('0');
  });
});
