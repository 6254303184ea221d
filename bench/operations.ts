// Sections 1 and 2: every operation, sequential, beside the floors measured in the same rounds.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { proseOfSize } from './lib/fixtures.js';
import { durableLink, durableWrite } from './lib/floor.js';
import { callTool, startCheckpointServer, startFloorServer } from './lib/server.js';
import { type Summary, summarizeAll, timeInterleaved } from './lib/stats.js';
import {
  buildFullSession,
  createSession,
  PHASE_DIRS,
  type Ref,
  saveCheckpoint,
  saveFeedback,
  saveOutput,
} from './lib/workflow.js';

export interface OperationsResult {
  calls: number;
  operations: Record<string, Summary>;
  /** Bytes of each file a floor writes: exactly what the operation wrote. */
  bytes: Record<string, number>;
}

const AGENTS = ['market_analyst', 'customer_researcher', 'competitor_scout'];

/** save_agent_output 1 KB as the floor server answers it (bench/floor-server.ts), beside the floors. */
export const FLOOR_SERVER_SAVE = 'floor server: save_agent_output 1 KB';
/** save_checkpoint as the floor server answers it: the version replaced linked, checkpoint and manifest written. */
export const FLOOR_SERVER_CHECKPOINT = 'floor server: save_checkpoint';
/** The floor server's rows of section 2. */
export const FLOOR_SERVER_ROWS: readonly string[] = [FLOOR_SERVER_SAVE, FLOOR_SERVER_CHECKPOINT];
const READ: Ref = { project_id: 'bench', session_id: 'read' };

export async function benchOperations(
  workDir: string,
  calls: number,
  rounds = 10,
): Promise<OperationsResult> {
  const base = join(workDir, 'operations');
  const floorDir = join(workDir, 'floor');
  const floorHistory = join(floorDir, 'history');
  await mkdir(floorHistory, { recursive: true });
  let kept = 0;
  const server = await startCheckpointServer(base);
  const { client } = server;
  // Section 4's floor server: this SDK and stdio, its save tools making the durable writes alone.
  const floorServer = await startFloorServer(join(workDir, 'operations-floor-server'));
  try {
    await buildFullSession(client, READ, 3, 20 * 1024);
    const small = proseOfSize(1024, 1);
    const large = proseOfSize(100 * 1024, 2);
    let session: Ref = { project_id: 'bench', session_id: 'warm' };
    await createSession(client, session);
    const ops = operationActions(client, small, large, () => session);
    for (let i = 0; i < 50; i++) for (const action of Object.values(ops)) await action(i);
    const files = await readFloorFiles(base, session);
    const floors = {
      'durable write: agent output 1 KB': (i: number) => durableWrite(floorDir, `a${i % 7}.md`, files.small),
      'durable write: agent output 100 KB': (i: number) =>
        durableWrite(floorDir, `b${i % 7}.md`, files.large),
      'durable write: checkpoint.md': (i: number) => durableWrite(floorDir, `c${i % 7}.md`, files.checkpoint),
      'durable write: session_manifest.md': () => durableWrite(floorDir, 'm.md', files.manifest),
      'durable write: user_feedback.md': (i: number) =>
        durableWrite(floorDir, `f${i % 7}.md`, files.feedback),
      'durable link: history version': (i: number) =>
        durableLink(floorDir, `c${i % 7}.md`, floorHistory, `c.v${++kept}.md`),
      ping: () => client.ping(),
      [FLOOR_SERVER_SAVE]: (i: number) =>
        saveOutput(floorServer.client, session, 1 + (i % 7), `agent_${i + 100}`, small),
      [FLOOR_SERVER_CHECKPOINT]: (i: number) =>
        callTool(floorServer.client, 'save_checkpoint', { ...session, phase_num: 1 + (i % 7) }),
    };
    for (let i = 0; i < 50; i++) for (const floor of Object.values(floors)) await floor(i);
    const times = await timeInterleaved(
      rounds,
      Math.ceil(calls / rounds),
      { ...ops, ...floors },
      async (round) => {
        session = { project_id: 'bench', session_id: `round-${round}` };
        await createSession(client, session);
      },
    );
    return {
      calls,
      operations: summarizeAll(times),
      bytes: Object.fromEntries(Object.entries(files).map(([name, data]) => [name, data.length])),
    };
  } finally {
    await Promise.all([server.close(), floorServer.close()]);
  }
}

/** The timed calls; the write calls go to the round's fresh session, seven phases in turn. */
function operationActions(
  client: Parameters<typeof saveOutput>[0],
  small: string,
  large: string,
  session: () => Ref,
): Record<string, (i: number) => Promise<unknown>> {
  const phaseOf = (i: number) => 1 + (Math.abs(i) % 7);
  return {
    'save_agent_output 1 KB': (i) => saveOutput(client, session(), phaseOf(i), `agent_${i + 100}`, small),
    'save_agent_output 100 KB': (i) => saveOutput(client, session(), phaseOf(i), `big_${i + 100}`, large),
    'save_agent_output 1 KB, same agent again (history)': (i) =>
      saveOutput(client, session(), phaseOf(i), 'reviser', `${i}${small.slice(String(i).length)}`),
    save_checkpoint: (i) =>
      saveCheckpoint(
        client,
        session(),
        phaseOf(i),
        Math.floor(i / 7) % 2 ? 'completed' : 'in_progress',
        AGENTS,
      ),
    save_user_feedback: (i) => saveFeedback(client, session(), phaseOf(i), `Reviewed, round ${i}.`),
    load_session: () => callTool(client, 'load_session', READ),
    'get_phase_outputs (7 phases x 3 x 20 KB)': () => callTool(client, 'get_phase_outputs', READ),
    validate_session: () => callTool(client, 'validate_session', READ),
  };
}

type FloorFiles = Record<'small' | 'large' | 'checkpoint' | 'manifest' | 'feedback', Buffer>;

async function readFloorFiles(base: string, ref: Ref): Promise<FloorFiles> {
  const session = join(base, ref.project_id, 'sessions', ref.session_id);
  const phase = (i: number) => join(session, PHASE_DIRS[1 + (i % 7)] ?? '');
  return {
    small: await readFile(join(phase(1), 'agent_101.md')),
    large: await readFile(join(phase(1), 'big_101.md')),
    checkpoint: await readFile(join(phase(1), 'checkpoint.md')),
    manifest: await readFile(join(session, 'session_manifest.md')),
    feedback: await readFile(join(phase(1), 'user_feedback.md')),
  };
}
