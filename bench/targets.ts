import { ms } from './lib/markdown.js';
import type { Results, Target } from './lib/results.js';
import { FLOOR_SERVER_CHECKPOINT, FLOOR_SERVER_SAVE } from './operations.js';
import { type FloorServerRow, throughputRow } from './throughput.js';
import { FLOOR_SERVER_FIRST_PAGE } from './worst-case.js';

export const OP_SAVE_1KB = 'save_agent_output 1 KB';
export const FLOOR_WRITE_1KB = 'durable write: agent output 1 KB';

export const FLOOR_CHECKPOINT = 'durable write: checkpoint.md';
export const FLOOR_MANIFEST = 'durable write: session_manifest.md';
export const FLOOR_HISTORY_LINK = 'durable link: history version';

/** The targets, judged on the figures of this run only: the save path's first, then the earlier ones. */
export function judgeTargets(results: Omit<Results, 'targets' | 'machine'>): Target[] {
  const targets: Target[] = [];
  const add = (target: string, measured: string, limit: string, pass: boolean) =>
    targets.push({ target, measured, limit, pass });
  const ops = results.operations?.operations;
  const ping = ops?.ping?.median;
  const save = ops?.[OP_SAVE_1KB]?.median;
  const write = ops?.[FLOOR_WRITE_1KB]?.median;
  if (save !== undefined && write !== undefined && ping !== undefined) {
    const floor = write + ping;
    const floorServer = ops?.[FLOOR_SERVER_SAVE]?.median;
    add(
      'save_agent_output 1 KB, file engine: median vs (durable write + ping)',
      `${ms(save)} = ${(save / floor).toFixed(2)} x (${ms(write)} + ${ms(ping)})${floorServer === undefined ? '' : `; the floor server (section 2): ${ms(floorServer)} = ${(floorServer / floor).toFixed(2)} x`}`,
      '<= 1.5 x',
      save <= 1.5 * floor,
    );
  }
  const checkpoint = ops?.save_checkpoint?.median;
  const checkpointWrite = ops?.[FLOOR_CHECKPOINT]?.median;
  const manifestWrite = ops?.[FLOOR_MANIFEST]?.median;
  const historyLink = ops?.[FLOOR_HISTORY_LINK]?.median;
  if (
    checkpoint !== undefined &&
    checkpointWrite !== undefined &&
    manifestWrite !== undefined &&
    historyLink !== undefined &&
    ping !== undefined
  ) {
    // The version replaced is kept by a link into history/, not a copy (see history.ts): that is its floor.
    const floor = checkpointWrite + historyLink + manifestWrite + ping;
    const floorServer = ops?.[FLOOR_SERVER_CHECKPOINT]?.median;
    add(
      'save_checkpoint, file engine: median vs (checkpoint write + history link + manifest write + ping)',
      `${ms(checkpoint)} = ${(checkpoint / floor).toFixed(2)} x (${ms(floor)})${floorServer === undefined ? '' : `; the floor server (section 2): ${ms(floorServer)} = ${(floorServer / floor).toFixed(2)} x`}`,
      '<= 2 x',
      checkpoint <= 2 * floor,
    );
  }
  const pg = results.postgres;
  if (pg) {
    const floor = pg.floor.transaction.median + pg.floor.ping.median;
    add(
      'save_agent_output 1 KB, PostgreSQL: median vs (the transaction by hand + ping)',
      `${ms(pg.save.median)} = ${(pg.save.median / floor).toFixed(2)} x (${ms(floor)})`,
      '<= 1.5 x',
      pg.save.median <= 1.5 * floor,
    );
    const checkpointFloor = pg.checkpoint.transaction.median + pg.floor.ping.median;
    add(
      'save_checkpoint, PostgreSQL: median vs (checkpoint and manifest by hand + ping)',
      `${ms(pg.checkpoint.save.median)} = ${(pg.checkpoint.save.median / checkpointFloor).toFixed(2)} x (${ms(checkpointFloor)})`,
      '<= 2 x',
      pg.checkpoint.save.median <= 2 * checkpointFloor,
    );
  }
  const one = throughputRow(results.throughput, 1);
  const oneFloor = floorServerRow(results, 1);
  if (one) {
    const floors = [
      ...(results.throughputFloorCpuMs === undefined
        ? []
        : [`its durable writes alone: ${ms(results.throughputFloorCpuMs)}`]),
      ...(oneFloor ? [`the floor server (section 4): ${ms(oneFloor.serverCpuMsPerSave)}`] : []),
    ];
    add(
      'Server CPU per save, 1 process (user + system, every tenth a checkpoint)',
      floors.length === 0
        ? ms(one.serverCpuMsPerSave)
        : `${ms(one.serverCpuMsPerSave)} (${floors.join('; ')})`,
      '<= 1 ms',
      one.serverCpuMsPerSave <= 1,
    );
  }
  const eight = throughputRow(results.throughput, 8);
  const eightFresh = throughputRow(results.throughput, 8, true);
  const eightFloor = floorServerRow(results, 8);
  if (eight) {
    const lost = [eight, eightFresh].reduce(
      (sum, row) => sum + (row ? row.lostOutputs + row.lostCheckpoints + row.failures : 0),
      0,
    );
    add(
      `8 processes on one session, file engine: durable saves per second (servers after ${eight.warmup} saves each), lost`,
      `${eight.savesPerSecond.toFixed(0)}/s${eightFresh ? ` (fresh servers: ${eightFresh.savesPerSecond.toFixed(0)}/s)` : ''}, ${lost} lost or failed${eightFloor ? `; the floor server (section 4): ${eightFloor.savesPerSecond.toFixed(0)}/s` : ''}`,
      '>= 500/s, 0 lost',
      eight.savesPerSecond >= 500 && lost === 0,
    );
  }
  const peer = results.peer?.find((row) => row.items === 1000);
  if (peer) {
    const ratio = peer.peer.create_entities.median / peer.ours.save.median;
    add(
      'At 1,000 stored items: server-memory create_entities / our save_agent_output (medians)',
      `${ms(peer.peer.create_entities.median)} / ${ms(peer.ours.save.median)} = ${ratio.toFixed(1)} x`,
      '>= 10 x',
      ratio >= 10,
    );
  }
  const cold = results.coldStart;
  if (cold) {
    add(
      'Cold start: spawn to first tools/list answer (median)',
      `${ms(cold.server.median)} (bare node ${ms(cold.bareNode.median)}; through the SDK client ${ms(cold.sdkClient.median)}; the floor server (section 5): ${ms(cold.floorServer.median)})`,
      '<= 180 ms',
      cold.server.median <= 180,
    );
  }
  const memory = results.memory;
  if (memory) {
    const mb = (memory.peakRssMiB * 1024 * 1024) / 1e6;
    add(
      `Peak RSS of the server saving ${memory.outputs} outputs of 4 MiB`,
      `${mb.toFixed(0)} MB`,
      '<= 120 MB',
      mb <= 120,
    );
  }
  const scaling = results.scaling;
  const small = scaling?.find((row) => row.sessions === 10);
  const large = scaling?.find((row) => row.sessions === 10_000);
  if (large) {
    add(
      'list_sessions first page (50), first call in a fresh process, 10,000 sessions (the first listing ever on the base builds the index of folder times)',
      `${ms(large.listCold)} (first ever: ${ms(large.listFirstEver)})`,
      '<= 100 ms',
      large.listCold <= 100,
    );
    add(
      'load_session, first call in a fresh process after the handshake, 10,000 sessions',
      cold === undefined
        ? ms(large.loadCold)
        : `${ms(large.loadCold)} (the floor server's first call, a tool that does nothing (section 5): ${ms(cold.floorFirstCall.median)})`,
      '<= 15 ms',
      large.loadCold <= 15,
    );
  }
  if (small && large) {
    const ratio = large.load.median / small.load.median;
    add(
      'load_session at 10,000 sessions vs at 10 (median)',
      `${ms(large.load.median)} vs ${ms(small.load.median)} = ${ratio.toFixed(2)} x`,
      '<= 1.2 x',
      ratio <= 1.2,
    );
    add(
      'list_sessions first page (50) at 10,000 sessions (median)',
      ms(large.list.median),
      '<= 20 ms',
      large.list.median <= 20,
    );
  }
  const worst = results.worstCase?.operations['get_agent_output, first page'];
  if (worst) {
    const floorServer = results.worstCase?.operations[FLOOR_SERVER_FIRST_PAGE];
    add(
      'get_agent_output of a 4 MiB nested-lists-and-tables output (median)',
      floorServer
        ? `${ms(worst.median)} (the floor server sending the same answer (section 7): ${ms(floorServer.median)})`
        : ms(worst.median),
      '<= 50 ms',
      worst.median <= 50,
    );
  }
  return targets;
}

/** Section 4's floor server run with `processes` processes, where the run measured it. */
export function floorServerRow(
  results: Pick<Results, 'throughputFloorServer'>,
  processes: number,
): FloorServerRow | undefined {
  return results.throughputFloorServer?.find((row) => row.processes === processes);
}
