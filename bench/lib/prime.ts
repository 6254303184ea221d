// The code cache every server of a run starts from: the one a host's first conversation leaves.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodeCache } from '../../src/code-cache.js';
import { FLOOR_BUNDLE } from './floor-build.js';
import { callTool, startCheckpointServer, startFloorServer } from './server.js';
import { createSession, saveCheckpoint, saveOutput } from './workflow.js';

const BUNDLE = fileURLToPath(new URL('../../dist/server.cjs', import.meta.url));

/**
 * Removes this build's code cache, then runs one short conversation (the handshake and a call of each
 * kind the run times) on a server that writes the cache as it exits, at its `served` stage: every later
 * server of the run starts from that cache, as a host's servers after its first conversation do, and
 * none from one that another use of the build left.
 */
export async function primeCodeCache(workDir: string): Promise<void> {
  const cache = new CodeCache(BUNDLE, await readFile(BUNDLE));
  cache.remove();
  const server = await startCheckpointServer(join(workDir, 'prime'));
  const ref = { project_id: 'prime', session_id: 's' };
  await createSession(server.client, ref);
  await saveOutput(server.client, ref, 1, 'writer', 'A first output.');
  await saveOutput(server.client, ref, 1, 'writer', 'The same output, again.');
  await saveCheckpoint(server.client, ref, 1, 'completed', ['writer']);
  await callTool(server.client, 'load_session', ref);
  await callTool(server.client, 'list_sessions', { project_id: ref.project_id });
  await callTool(server.client, 'get_agent_output', { ...ref, phase_num: 1, agent_name: 'writer' });
  await server.close();
  // Written as the server exits, after the client has let it go.
  await servedCache(cache, 'the priming server');
}

/**
 * The floor server's code cache, as primeCodeCache leaves the server's: removed, then written by a floor
 * server as it exits after a call of each kind (its tools emit TOOL_ANSWERED as the server's do).
 */
export async function primeFloorCodeCache(workDir: string): Promise<void> {
  const cache = new CodeCache(FLOOR_BUNDLE, await readFile(FLOOR_BUNDLE));
  cache.remove();
  const server = await startFloorServer(join(workDir, 'prime-floor'));
  const place = { project_id: 'prime', session_id: 's', phase_num: 1 };
  await callTool(server.client, 'create_session', place);
  await callTool(server.client, 'save_agent_output', {
    ...place,
    agent_name: 'writer',
    output_content: 'A first output.',
  });
  await callTool(server.client, 'save_checkpoint', place);
  await callTool(server.client, 'load_session', place);
  await server.close();
  await servedCache(cache, 'the priming floor server');
}

async function servedCache(cache: CodeCache, writer: string): Promise<void> {
  for (let waited = 0; cache.read()?.stage !== 'served'; waited += 20) {
    if (waited > 5_000) throw new Error(`${writer} wrote no code cache`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
