// Section 5: from spawning `node dist/server.js` to the answer of the first tools/list, as a host
// sees it, beside a bare `node -e 0` (the part of a cold start that is Node's, not ours).
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startCheckpointServer } from './lib/server.js';
import { nowMs, type Summary, summarize } from './lib/stats.js';

export interface ColdStartResult {
  runs: number;
  tools: number;
  server: Summary;
  bareNode: Summary;
}

export async function benchColdStart(workDir: string, runs: number): Promise<ColdStartResult> {
  const server: number[] = [];
  const bare: number[] = [];
  let tools = 0;
  for (let run = 0; run < runs; run++) {
    const started = nowMs();
    const connection = await startCheckpointServer(join(workDir, 'cold-start'));
    tools = (await connection.client.listTools()).tools.length;
    server.push(nowMs() - started);
    await connection.close();
    bare.push(await bareNode());
  }
  return { runs, tools, server: summarize(server), bareNode: summarize(bare) };
}

async function bareNode(): Promise<number> {
  const started = nowMs();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('close', resolve));
  return nowMs() - started;
}
