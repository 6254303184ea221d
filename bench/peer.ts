// Section 8: @modelcontextprotocol/server-memory driven by the same client over stdio, side by side
// with ours, each with `items` records of 1 KB already stored. A created record is removed again,
// untimed, after each timed save, so the store holds `items` records throughout. The floor server
// saves into folders holding the same names, in the same rounds: what this SDK's least save costs there.
import { readdirSync } from 'node:fs';
import { mkdir, open, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { openManager } from './lib/core.js';
import { proseOfSize } from './lib/fixtures.js';
import { durableWrite } from './lib/floor.js';
import {
  type Connection,
  callTool,
  startCheckpointServer,
  startFloorServer,
  startPeerServer,
} from './lib/server.js';
import { type Action, type Summary, summarizeAll, timeInterleaved } from './lib/stats.js';
import { PHASE_DIRS, type Ref } from './lib/workflow.js';

export interface PeerRow {
  items: number;
  /**
   * `listing` is no call of ours: a readdir of a phase folder from the bench process, what our save
   * does to refuse a case twin of a new name (the folder holds about items / 7 names).
   */
  ours: { save: Summary; load_session: Summary; get_agent_output: Summary; listing: Summary };
  peer: { create_entities: Summary; read_graph: Summary; open_nodes: Summary };
  /**
   * The floor server's save_agent_output (bench/floor-server.ts: this SDK and stdio, the durable write
   * and nothing else) in the same shape: phase folders holding the same names, the saved file removed
   * after each save.
   */
  floorServer: { save: Summary };
}

const REF: Ref = { project_id: 'bench', session_id: 'peer' };
const phaseOf = (i: number) => 1 + (i % 7);

export async function benchPeer(
  workDir: string,
  sizes: readonly number[],
  calls: number,
): Promise<PeerRow[]> {
  const content = proseOfSize(1024, 3);
  const stores: Array<{
    items: number;
    base: string;
    memoryFile: string;
    floorBase: string;
    ours: Connection;
    peer: Connection;
    floor: Connection;
  }> = [];
  try {
    for (const items of sizes) {
      const base = join(workDir, `peer-ours-${items}`);
      const memoryFile = join(workDir, `peer-memory-${items}.jsonl`);
      const floorBase = join(workDir, `peer-floor-${items}`);
      await seedOurs(base, items, content);
      await seedPeer(memoryFile, items, content);
      await seedFloor(floorBase, items, content);
      stores.push({
        items,
        base,
        memoryFile,
        floorBase,
        ours: await startCheckpointServer(base),
        peer: await startPeerServer(memoryFile),
        floor: await startFloorServer(floorBase),
      });
    }
    const actions: Record<string, Action> = {};
    for (const { items, base, ours, peer, memoryFile, floorBase, floor } of stores) {
      const phaseDir = (i: number) =>
        join(base, REF.project_id, 'sessions', REF.session_id, PHASE_DIRS[phaseOf(i)] ?? '');
      actions[`ours ${items} save`] = {
        run: (i) =>
          callTool(ours.client, 'save_agent_output', {
            ...REF,
            phase_num: phaseOf(i),
            agent_name: `new_${i}`,
            output_content: content,
          }),
        after: (i) => unlink(join(phaseDir(i), `new_${i}.md`)),
      };
      actions[`peer ${items} save`] = {
        run: (i) =>
          callTool(peer.client, 'create_entities', {
            entities: [{ name: `new_${i}`, entityType: 'agent_output', observations: [content] }],
          }),
        // server-memory never flushes; its dirty pages are flushed here, untimed, not in our next fsync.
        after: async (i) => {
          await callTool(peer.client, 'delete_entities', { entityNames: [`new_${i}`] });
          await flush(memoryFile);
        },
      };
      actions[`floor ${items} save`] = {
        run: (i) =>
          callTool(floor.client, 'save_agent_output', {
            ...REF,
            phase_num: phaseOf(i),
            agent_name: `new_${i}`,
            output_content: content,
          }),
        after: (i) => unlink(join(floorPhaseDir(floorBase, phaseOf(i)), `new_${i}.md`)),
      };
      actions[`ours ${items} listing`] = async (i) => readdirSync(phaseDir(i));
      actions[`ours ${items} load`] = () => callTool(ours.client, 'load_session', REF);
      actions[`peer ${items} load`] = () => callTool(peer.client, 'read_graph', {});
      actions[`ours ${items} read`] = () =>
        callTool(ours.client, 'get_agent_output', { ...REF, phase_num: phaseOf(5), agent_name: 'item_5' });
      actions[`peer ${items} read`] = () => callTool(peer.client, 'open_nodes', { names: ['item_5'] });
    }
    // A first round of 30 is the warm-up; its times are dropped.
    await timeInterleaved(1, 30, actions);
    const times = summarizeAll(await timeInterleaved(5, Math.ceil(calls / 5), actions));
    return stores.map(({ items }) => ({
      items,
      ours: {
        save: times[`ours ${items} save`] as Summary,
        load_session: times[`ours ${items} load`] as Summary,
        get_agent_output: times[`ours ${items} read`] as Summary,
        listing: times[`ours ${items} listing`] as Summary,
      },
      peer: {
        create_entities: times[`peer ${items} save`] as Summary,
        read_graph: times[`peer ${items} load`] as Summary,
        open_nodes: times[`peer ${items} read`] as Summary,
      },
      floorServer: { save: times[`floor ${items} save`] as Summary },
    }));
  } finally {
    await Promise.all(stores.flatMap(({ ours, peer, floor }) => [ours.close(), peer.close(), floor.close()]));
  }
}

async function flush(file: string): Promise<void> {
  const handle = await open(file, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function seedOurs(base: string, items: number, content: string): Promise<void> {
  const manager = await openManager(base, false);
  await manager.createSession({ ...REF, user_id: 'bench', execution_mode: 'full' });
  for (let i = 0; i < items; i++) {
    await manager.saveAgentOutput({
      ...REF,
      phase_num: phaseOf(i),
      agent_name: `item_${i}`,
      output_content: content,
    });
  }
}

/** A phase folder of the floor server (see folderOf in bench/floor-server.ts). */
function floorPhaseDir(base: string, phase: number): string {
  return join(base, REF.project_id, REF.session_id, `phase_${phase}`);
}

/** The floor server's folders holding the names ours hold, each file the content alone. */
async function seedFloor(base: string, items: number, content: string): Promise<void> {
  for (let phase = 1; phase <= 7; phase++)
    await mkdir(join(floorPhaseDir(base, phase), 'history'), { recursive: true });
  const data = Buffer.from(content, 'utf8');
  for (let i = 0; i < items; i++) await durableWrite(floorPhaseDir(base, phaseOf(i)), `item_${i}.md`, data);
}

async function seedPeer(memoryFile: string, items: number, content: string): Promise<void> {
  const lines = Array.from({ length: items }, (_, i) =>
    JSON.stringify({
      type: 'entity',
      name: `item_${i}`,
      entityType: 'agent_output',
      observations: [content],
    }),
  );
  await writeFile(memoryFile, lines.join('\n'));
}
