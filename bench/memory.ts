// Section 6: peak resident memory of the server process while it saves 200 outputs of 4 MiB.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { proseOfSize } from './lib/fixtures.js';
import { startCheckpointServer } from './lib/server.js';
import { nowMs } from './lib/stats.js';
import { createSession, type Ref, saveOutput } from './lib/workflow.js';

export interface MemoryResult {
  outputs: number;
  bytesEach: number;
  /** Distinct agents; the later saves of an agent keep its earlier output in history/. */
  agents: number;
  seconds: number;
  /** VmHWM at the end of the run: the most the process ever had resident. */
  peakRssMiB: number;
  /** Largest VmRSS seen by sampling every 20 ms, a cross-check of VmHWM. */
  sampledPeakMiB: number;
  idleRssMiB: number;
}

const MiB = 1024 * 1024;

export async function benchMemory(workDir: string, outputs: number, agents: number): Promise<MemoryResult> {
  const server = await startCheckpointServer(join(workDir, 'memory'));
  try {
    const ref: Ref = { project_id: 'bench', session_id: 'memory' };
    await createSession(server.client, ref);
    const idleRssMiB = (await status(server.pid)).rss;
    let sampledPeakMiB = idleRssMiB;
    const sampler = setInterval(() => {
      status(server.pid).then(
        ({ rss }) => {
          sampledPeakMiB = Math.max(sampledPeakMiB, rss);
        },
        () => {},
      );
    }, 20);
    const base = proseOfSize(4 * MiB, 7);
    const started = nowMs();
    try {
      for (let i = 0; i < outputs; i++) {
        // Each output differs (its first line), so every save really writes and history keeps each version.
        const content = `${`output ${i}`.padEnd(15)}${base.slice(15)}`;
        await saveOutput(server.client, ref, 1 + (i % 7), `writer_${i % agents}`, content);
      }
    } finally {
      clearInterval(sampler);
    }
    const seconds = (nowMs() - started) / 1000;
    const { hwm } = await status(server.pid);
    return { outputs, bytesEach: 4 * MiB, agents, seconds, peakRssMiB: hwm, sampledPeakMiB, idleRssMiB };
  } finally {
    await server.close();
  }
}

async function status(pid: number): Promise<{ rss: number; hwm: number }> {
  const text = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? Number.NaN);
  return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
}
