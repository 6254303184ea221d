import { ms } from './lib/markdown.js';
import type { Results, Target } from './lib/results.js';

export const OP_SAVE_1KB = 'save_agent_output 1 KB';
export const FLOOR_WRITE_1KB = 'durable write: agent output 1 KB';

/** The targets, judged on the figures of this run only. */
export function judgeTargets(results: Omit<Results, 'targets' | 'machine'>): Target[] {
  const targets: Target[] = [];
  const ops = results.operations?.operations;
  const save = ops?.[OP_SAVE_1KB]?.median;
  const write = ops?.[FLOOR_WRITE_1KB]?.median;
  const ping = ops?.ping?.median;
  if (save !== undefined && write !== undefined && ping !== undefined) {
    const floor = write + ping;
    targets.push({
      target: 'save_agent_output 1 KB, durable: median vs (durable write + ping)',
      measured: `${ms(save)} = ${(save / floor).toFixed(2)} x (${ms(write)} + ${ms(ping)})`,
      limit: '<= 1.5 x',
      pass: save <= 1.5 * floor,
    });
  }
  const scaling = results.scaling;
  const small = scaling?.find((row) => row.sessions === 10);
  const large = scaling?.find((row) => row.sessions === 10_000);
  if (small && large) {
    const ratio = large.load.median / small.load.median;
    targets.push({
      target: 'load_session at 10,000 sessions vs at 10 (median)',
      measured: `${ms(large.load.median)} vs ${ms(small.load.median)} = ${ratio.toFixed(2)} x`,
      limit: '<= 1.2 x',
      pass: ratio <= 1.2,
    });
    targets.push({
      target: 'list_sessions first page (50) at 10,000 sessions (median)',
      measured: ms(large.list.median),
      limit: '<= 20 ms',
      pass: large.list.median <= 20,
    });
  }
  const eight = results.throughput?.find((row) => row.processes === 8);
  if (eight) {
    const lost = eight.lostOutputs + eight.lostCheckpoints + eight.failures;
    targets.push({
      target: '8 processes: durable agent-output saves per second together, lost writes',
      measured: `${eight.outputsPerSecond.toFixed(0)}/s, ${lost} lost or failed`,
      limit: '>= 1,000/s, 0 lost',
      pass: eight.outputsPerSecond >= 1000 && lost === 0,
    });
  }
  const cold = results.coldStart;
  if (cold) {
    targets.push({
      target: 'Cold start: spawn to first tools/list answer (median)',
      measured: ms(cold.server.median),
      limit: '<= 150 ms',
      pass: cold.server.median <= 150,
    });
  }
  const memory = results.memory;
  if (memory) {
    const mb = (memory.peakRssMiB * 1024 * 1024) / 1e6;
    targets.push({
      target: `Peak RSS of the server saving ${memory.outputs} outputs of 4 MiB`,
      measured: `${mb.toFixed(0)} MB`,
      limit: '<= 150 MB',
      pass: mb <= 150,
    });
  }
  const worst = results.worstCase?.operations['get_agent_output, first page'];
  if (worst) {
    targets.push({
      target: 'get_agent_output of a 4 MiB nested-lists-and-tables output (median)',
      measured: ms(worst.median),
      limit: '<= 50 ms',
      pass: worst.median <= 50,
    });
  }
  const peer = results.peer?.find((row) => row.items === 1000);
  if (peer) {
    const ratio = peer.peer.create_entities.median / peer.ours.save.median;
    targets.push({
      target: 'Save at 1,000 stored items: server-memory create_entities / our save_agent_output (medians)',
      measured: `${ms(peer.peer.create_entities.median)} / ${ms(peer.ours.save.median)} = ${ratio.toFixed(1)} x`,
      limit: '>= 5 x',
      pass: ratio >= 5,
    });
  }
  return targets;
}
