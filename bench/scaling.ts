// Section 3: load_session and list_sessions at 10, 1,000 and 10,000 sessions of one project.
import { join } from 'node:path';
import { SCALE_PROJECT, seedSessions, sessionId } from './lib/seed.js';
import { type Connection, callTool, startCheckpointServer } from './lib/server.js';
import { nowMs, type Summary, summarize } from './lib/stats.js';

export interface ScalingRow {
  sessions: number;
  seedSeconds: number;
  /**
   * First call in a fresh server process (empty caches in the server; the OS page cache is warm), the
   * median of FRESH_PROCESSES processes one after another.
   */
  loadCold: number;
  listCold: number;
  /** The first list_sessions ever on the base: no index of folder times yet, so it is built. */
  listFirstEver: number;
  load: Summary;
  list: Summary;
}

const LOAD = { project_id: SCALE_PROJECT, session_id: sessionId(0) };
/** Fresh processes whose first call is timed, one after another; the median is reported. */
export const FRESH_PROCESSES = 5;
const LIST = { project_id: SCALE_PROJECT, limit: 50 };

export async function benchScaling(
  workDir: string,
  sizes: readonly number[],
  calls: number,
): Promise<ScalingRow[]> {
  const bases = new Map<number, string>();
  const seeded = new Map<number, number>();
  for (const size of sizes) {
    const base = join(workDir, `scaling-${size}`);
    const started = nowMs();
    await seedSessions(base, size);
    seeded.set(size, (nowMs() - started) / 1000);
    bases.set(size, base);
  }
  const cold = new Map<number, { load: number; list: number; listFirstEver: number }>();
  for (const size of sizes) {
    const base = bases.get(size) ?? '';
    const listFirstEver = await firstCall(base, (server) => listPage(server, size));
    const list: number[] = [];
    const load: number[] = [];
    for (let i = 0; i < FRESH_PROCESSES; i++) {
      list.push(await firstCall(base, (server) => listPage(server, size)));
      load.push(await firstCall(base, (server) => callTool(server.client, 'load_session', LOAD)));
    }
    cold.set(size, { listFirstEver, list: summarize(list).median, load: summarize(load).median });
  }
  // One server per size and operation (so that the garbage of one never lands in the other's timing),
  // all called in turns, so that load from other work on the machine falls on every size alike.
  const servers = await Promise.all(
    sizes.flatMap((size) => [
      startCheckpointServer(bases.get(size) ?? ''),
      startCheckpointServer(bases.get(size) ?? ''),
    ]),
  );
  try {
    const times = sizes.map(() => ({ load: [] as number[], list: [] as number[] }));
    const rounds = 10;
    for (let round = -1; round < rounds; round++) {
      for (const [k, size] of sizes.entries()) {
        for (const op of ['load', 'list'] as const) {
          const server = servers[2 * k + (op === 'load' ? 0 : 1)] as Connection;
          for (let j = 0; j < Math.ceil(calls / rounds); j++) {
            const started = nowMs();
            if (op === 'load') await callTool(server.client, 'load_session', LOAD);
            else await listPage(server, size);
            // Round -1 is the warm-up.
            if (round >= 0) times[k]?.[op].push(nowMs() - started);
          }
        }
      }
    }
    return sizes.map((size, k) => ({
      sessions: size,
      seedSeconds: seeded.get(size) ?? 0,
      loadCold: cold.get(size)?.load ?? Number.NaN,
      listCold: cold.get(size)?.list ?? Number.NaN,
      listFirstEver: cold.get(size)?.listFirstEver ?? Number.NaN,
      load: summarize(times[k]?.load ?? []),
      list: summarize(times[k]?.list ?? []),
    }));
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
}

async function listPage(server: Connection, size: number): Promise<void> {
  const page = await callTool<{ sessions: Array<{ session_id: string }> }>(
    server.client,
    'list_sessions',
    LIST,
  );
  const expected = Math.min(size, 50);
  if (page.sessions.length !== expected || page.sessions[0]?.session_id !== sessionId(size - 1)) {
    throw new Error(
      `list_sessions at ${size} sessions returned ${page.sessions.length}, first ${page.sessions[0]?.session_id}`,
    );
  }
}

async function firstCall(base: string, call: (server: Connection) => Promise<unknown>): Promise<number> {
  const server = await startCheckpointServer(base);
  try {
    const started = nowMs();
    await call(server);
    return nowMs() - started;
  } finally {
    await server.close();
  }
}
