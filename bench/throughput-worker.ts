// One client process of the throughput run: its own server on the shared base directory, saving
// into one session until the deadline the parent sends, then reporting every acknowledged save.
import { proseOfSize, sha256 } from './lib/fixtures.js';
import { callTool, cpuMs, startCheckpointServer, startFloorServer } from './lib/server.js';
import { type Ref, saveCheckpoint, saveOutput } from './lib/workflow.js';

export interface WorkerStart {
  base: string;
  ref: Ref;
  worker: number;
  /** Every `checkpointEvery`-th save is a save_checkpoint, the others save_agent_output. */
  checkpointEvery: number;
  /** More arguments for the server, such as --store for the PostgreSQL engine. */
  serverArgs?: string[];
  /**
   * Saves made before the timed run, the same mix into a session of this worker's own: a server
   * that has run a while, as one serving a long-running agent has.
   */
  warmup?: number;
  /** The floor server (bench/floor-server.ts) in place of checkpoint-mcp. */
  floor?: boolean;
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

type ParentMessage = { go: number } | { close: true } | WorkerStart;

const send = (message: unknown) => process.send?.(message);

let start: WorkerStart | undefined;
process.on('message', (message: ParentMessage) => {
  if ('go' in message) void run(message.go);
  else if ('close' in message) void close();
  else void prepare(message);
});

/** Saves made in the timed windows so far: each window goes on with new agent names. */
let made = 0;

let server: Awaited<ReturnType<typeof startCheckpointServer>> | undefined;

async function prepare(message: WorkerStart): Promise<void> {
  start = message;
  server = message.floor
    ? await startFloorServer(message.base)
    : await startCheckpointServer(message.base, message.serverArgs ?? []);
  if (message.warmup) {
    const own = { ...message.ref, session_id: `${message.ref.session_id}-warmup-${message.worker}` };
    await callTool(server.client, 'create_session', { ...own, user_id: 'bench', execution_mode: 'full' });
    for (let n = 0; n < message.warmup; n++)
      await saveOne(server, own, message.worker, n, message.checkpointEvery);
  }
  await callTool(server.client, 'load_session', message.ref);
  send({ ready: true });
}

/** Save number `n` of the mix: every `checkpointEvery`-th a save_checkpoint, the others a 1 KB output. */
async function saveOne(
  connection: NonNullable<typeof server>,
  ref: Ref,
  worker: number,
  n: number,
  checkpointEvery: number,
): Promise<
  { checkpoint: true } | { checkpoint: false; output: WorkerReport['outputs'][number]; hash: string }
> {
  const phase = 1 + (n % 7);
  if (n % checkpointEvery === checkpointEvery - 1) {
    await saveCheckpoint(connection.client, ref, phase, 'in_progress', [`w${worker}_last`]);
    return { checkpoint: true };
  }
  const agent = `w${worker}_${n}`;
  const content = `${agent}\n${proseOfSize(1024, n)}`;
  const saved = await saveOutput(connection.client, ref, phase, agent, content);
  return {
    checkpoint: false,
    output: { phase_num: phase, agent_name: agent, sha256: saved.sha256 },
    hash: sha256(content),
  };
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
  for (; Date.now() < deadline; made++) {
    try {
      const saved = await saveOne(server, ref, worker, made, checkpointEvery);
      if (saved.checkpoint) {
        report.checkpoints++;
      } else {
        if (saved.output.sha256 !== saved.hash) {
          report.failures.push(`${saved.output.agent_name}: server hash ${saved.output.sha256}`);
        }
        report.outputs.push(saved.output);
      }
    } catch (error) {
      report.failures.push(String(error).slice(0, 300));
    }
  }
  report.elapsedMs = Date.now() - began;
  const used = process.cpuUsage(clientCpu);
  report.clientCpuMs = (used.user + used.system) / 1000;
  report.serverCpuMs = (await cpuMs(server.pid)) - serverCpu;
  send({ report });
}

async function close(): Promise<void> {
  await server?.close();
  send({ closed: true });
  process.disconnect();
}
