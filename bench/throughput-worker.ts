// One client process of the throughput run: its own server on the shared base directory, saving
// into one session until the deadline the parent sends, then reporting every acknowledged save.
import { proseOfSize, sha256 } from './lib/fixtures.js';
import { callTool, cpuMs, startCheckpointServer } from './lib/server.js';
import { type Ref, saveCheckpoint, saveOutput } from './lib/workflow.js';

export interface WorkerStart {
  base: string;
  ref: Ref;
  worker: number;
  /** Every `checkpointEvery`-th save is a save_checkpoint, the others save_agent_output. */
  checkpointEvery: number;
  /** More arguments for the server, such as --store for the PostgreSQL engine. */
  serverArgs?: string[];
}

export interface WorkerReport {
  outputs: Array<{ phase_num: number; agent_name: string; sha256: string }>;
  checkpoints: number;
  failures: string[];
  elapsedMs: number;
  /** CPU time (user + system) of this client process and of its server during the run. */
  clientCpuMs: number;
  serverCpuMs: number;
}

type ParentMessage = { go: number } | WorkerStart;

const send = (message: unknown) => process.send?.(message);

let start: WorkerStart | undefined;
process.on('message', (message: ParentMessage) => {
  if ('go' in message) void run(message.go);
  else void prepare(message);
});

let server: Awaited<ReturnType<typeof startCheckpointServer>> | undefined;

async function prepare(message: WorkerStart): Promise<void> {
  start = message;
  server = await startCheckpointServer(message.base, message.serverArgs ?? []);
  await callTool(server.client, 'load_session', message.ref);
  send({ ready: true });
}

async function run(deadline: number): Promise<void> {
  if (!start || !server) throw new Error('go before start');
  const { ref, worker, checkpointEvery } = start;
  const report: WorkerReport = {
    outputs: [],
    checkpoints: 0,
    failures: [],
    elapsedMs: 0,
    clientCpuMs: 0,
    serverCpuMs: 0,
  };
  const began = Date.now();
  const clientCpu = process.cpuUsage();
  const serverCpu = await cpuMs(server.pid);
  for (let n = 0; Date.now() < deadline; n++) {
    const phase = 1 + (n % 7);
    try {
      if (n % checkpointEvery === checkpointEvery - 1) {
        await saveCheckpoint(server.client, ref, phase, 'in_progress', [`w${worker}_last`]);
        report.checkpoints++;
      } else {
        const agent = `w${worker}_${n}`;
        const content = `${agent}\n${proseOfSize(1024, n)}`;
        const saved = await saveOutput(server.client, ref, phase, agent, content);
        if (saved.sha256 !== sha256(content)) report.failures.push(`${agent}: server hash ${saved.sha256}`);
        report.outputs.push({ phase_num: phase, agent_name: agent, sha256: saved.sha256 });
      }
    } catch (error) {
      report.failures.push(String(error).slice(0, 300));
    }
  }
  report.elapsedMs = Date.now() - began;
  const used = process.cpuUsage(clientCpu);
  report.clientCpuMs = (used.user + used.system) / 1000;
  report.serverCpuMs = (await cpuMs(server.pid)) - serverCpu;
  await server.close();
  send({ report });
  process.disconnect();
}
