// The code cache every server of a run starts from: the one a host's first conversation leaves.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CodeCache } from '../../src/code-cache.js';
import { callTool, startCheckpointServer } from './server.js';
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
  for (let waited = 0; cache.read()?.stage !== 'served'; waited += 20) {
    if (waited > 5_000) throw new Error('the priming server wrote no code cache');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
