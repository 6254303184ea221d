// Section: where the time goes, for the targets this machine misses. The built server runs under V8's
// sampling profiler (node --cpu-prof, a sample every 100 us) through the same work as the section that
// measures it; each sample is counted to the code it found (bench/lib/profile.ts). The profiler slows
// what it watches a little, so the shares matter more than the sums.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { rawToolsList } from './cold-start.js';
import { nestedListsAndTables, proseOfSize } from './lib/fixtures.js';
import { FLOOR_BUNDLE, FLOOR_LAUNCHER } from './lib/floor-build.js';
import {
  type Breakdown,
  nowUs,
  perCall,
  profileArgs,
  profileDir,
  readProfile,
  type Stages,
} from './lib/profile.js';
import { SCALE_PROJECT, seedSessions, sessionId } from './lib/seed.js';
import { type Connection, callTool, connect, cpuMs, SERVER_ENTRY } from './lib/server.js';
import { summarize } from './lib/stats.js';
import { createSession, type Ref, saveCheckpoint, saveOutput } from './lib/workflow.js';
import { WARMUP_SAVES } from './throughput.js';

/** Calls made under the profiler, and what they cost the server. */
export interface ProfiledCalls {
  calls: number;
  /** Wall time per call seen by the client. */
  wallMs: number;
  /** Server CPU per call (user + system, from /proc): of all its threads, and of its main thread. */
  cpuMs: number;
  mainCpuMs: number;
  /** The server's main thread per call, as the profile's samples found it (wall time). */
  breakdown: Breakdown;
}

/** Fresh processes profiled from their start. */
export interface ProfiledStarts {
  runs: number;
  /** Median wall time of what was timed (spawn to answer, or the first call). */
  wallMs: number;
  /** Median time from spawn until the profiler started (node's own start). */
  beforeProfilerMs?: number;
  /** Per run. */
  breakdown: Breakdown;
}

export interface ProfilesResult {
  /** One process saving as the throughput run's (1 KB outputs, every tenth a checkpoint). */
  save: ProfiledCalls;
  /** save_checkpoint alone, on the same server after the saves. */
  checkpoint: ProfiledCalls;
  /** The floor server (bench/floor-server.ts) through the same saves, and its save_checkpoint alone. */
  floorSave: ProfiledCalls;
  floorCheckpoint: ProfiledCalls;
  /** MCP pings on the same server: what a call costs with no work in it. */
  ping: ProfiledCalls;
  /** Eight processes saving into one session at once, summed over all eight servers. */
  eight: ProfiledCalls & { processes: number; savesPerSecond: number };
  coldStart: ProfiledStarts;
  firstLoad: ProfiledStarts;
  firstList: ProfiledStarts;
  /** The first page of the 4 MiB output of nested lists and tables, as section 7 reads it. */
  largeRead: ProfiledCalls;
}

const WARMUP = 300;
const EIGHT = 8;
const STARTS = 5;

export async function benchProfiles(
  workDir: string,
  calls: number,
  seconds: number,
): Promise<ProfilesResult> {
  const { save, ping, checkpoint } = await profileSaves(workDir, join(workDir, 'profile-save'), calls);
  const floor = await profileSaves(workDir, join(workDir, 'profile-floor'), calls, FLOOR_SERVER);
  const eight = await profileEight(workDir, join(workDir, 'profile-eight'), seconds);
  const coldStart = await profileColdStarts(workDir, join(workDir, 'profile-cold'));
  // The scaling section's base when it ran; else one made here alike.
  const scaled = join(workDir, 'scaling-10000');
  if (!existsSync(join(scaled, SCALE_PROJECT))) await seedSessions(scaled, 10_000);
  const firstLoad = await profileFirstCalls(workDir, scaled, (server) =>
    callTool(server.client, 'load_session', { project_id: SCALE_PROJECT, session_id: sessionId(0) }),
  );
  const firstList = await profileFirstCalls(workDir, scaled, (server) =>
    callTool(server.client, 'list_sessions', { project_id: SCALE_PROJECT, limit: 50 }),
  );
  const largeRead = await profileLargeRead(workDir, join(workDir, 'profile-large'), Math.ceil(calls / 20));
  return {
    save,
    checkpoint,
    floorSave: floor.save,
    floorCheckpoint: floor.checkpoint,
    ping,
    eight,
    coldStart,
    firstLoad,
    firstList,
    largeRead,
  };
}

/** get_agent_output's first page of section 7's 4 MiB output, `count` times after as many of warm-up. */
async function profileLargeRead(workDir: string, base: string, count: number): Promise<ProfiledCalls> {
  const ref = { project_id: 'profile', session_id: 'large' };
  const target = { ...ref, phase_num: 1, agent_name: 'deep_tables' };
  const profiled = await profileCalls(
    workDir,
    ['--base-dir', base],
    async (client) => {
      await createSession(client, ref);
      await saveOutput(client, ref, 1, 'deep_tables', nestedListsAndTables(4 * 1024 * 1024));
    },
    { read: (client) => callTool(client, 'get_agent_output', target) },
    count,
    count,
  );
  return profiled.read as ProfiledCalls;
}

/** One save of the throughput run's mix: call n of worker w. */
function mixedSave(client: Client, ref: Ref, worker: number, n: number): Promise<unknown> {
  const phase = 1 + (n % 7);
  if (n % 10 === 9) return saveCheckpoint(client, ref, phase, 'in_progress', [`w${worker}_last`]);
  const agent = `w${worker}_${n}`;
  return saveOutput(client, ref, phase, agent, `${agent}\n${proseOfSize(1024, n)}`);
}

/** A server to profile: the bin it is started by, the bundle it runs and the stages of its saves. */
interface ProfiledServer {
  entry: string;
  bundle: string;
  stages: Stages;
}

const FS = 'src/checkpoint/store/fs';

/**
 * What a save_checkpoint does on the file engine, stage by stage, each for a guarantee (see the section
 * "save_checkpoint against the floor server"); the functions of each, by module. A function's time
 * holds what it calls but for another stage's functions: a path check made by a read is a path check.
 */
export const CHECKPOINT_STAGES: Stages = {
  lock: {
    [`${FS}/session-lock.ts`]: ['acquireLock', 'writeOwner', 'assertHeld', 'release', 'isOurs'],
  },
  reads: {
    'src/checkpoint/session/session-files.ts': ['readCheckpoints', 'manifestUnderLock'],
    [`${FS}/fs-store.ts`]: ['readAll', 'readAllChecked'],
  },
  paths: { [`${FS}/fs-base.ts`]: ['locate', 'resolve', 'checksFor'] },
  history: { [`${FS}/history.ts`]: ['archive', 'alreadyKept', 'archiveCopy', 'linkAsNext'] },
  // A save_agent_output's own: a new name's folder read for a case twin, and the manifest's stamp.
  twin: {
    [`${FS}/fs-store.ts`]: ['caseTwinIn'],
    [`${FS}/folder-names.ts`]: ['twinOf', 'twinIn'],
  },
  stamp: {
    [`${FS}/fs-store.ts`]: ['stampNow'],
    // The manifest read again when its stamp moved (another process saved a checkpoint).
    'src/checkpoint/session/session-files.ts': ['planOf'],
  },
  render: {
    'src/checkpoint/formats/agent-output.ts': ['renderAgentOutput'],
    'src/checkpoint/formats/checkpoint.ts': ['renderCheckpoint'],
    'src/checkpoint/formats/manifest.ts': ['renderManifest'],
    'src/checkpoint/session/session-state.ts': ['buildManifest', 'sessionMetrics', 'assertMetricsFit'],
    'src/checkpoint/save-checkpoint.ts': ['buildCheckpoint'],
  },
  writes: {
    [`${FS}/atomic-write.ts`]: ['writeTemporary', 'writeSmall'],
    [`${FS}/fs-store.ts`]: ['writeAll', 'prepare', 'prepareChecked', 'place', 'rename', 'flush', 'settle'],
    [`${FS}/fs-base.ts`]: ['readWithStat', 'makeDirectory', 'syncDirectory', 'flushDirectory'],
  },
};

/** The floor server's saves: its durable writes, and the link of the version replaced into history/. */
const FLOOR_STAGES: Stages = {
  writes: { 'bench/lib/floor.ts': ['durableWrite'] },
  history: { 'bench/lib/floor.ts': ['durableLink'] },
};

const CHECKPOINT_MCP: ProfiledServer = {
  entry: SERVER_ENTRY,
  bundle: SERVER_ENTRY.replace(/\.js$/, '.cjs'),
  stages: CHECKPOINT_STAGES,
};
const FLOOR_SERVER: ProfiledServer = { entry: FLOOR_LAUNCHER, bundle: FLOOR_BUNDLE, stages: FLOOR_STAGES };

async function startProfiled(dir: string, args: string[], server = CHECKPOINT_MCP): Promise<Connection> {
  return connect([...profileArgs(dir), server.entry, ...args]);
}

/**
 * `count` calls of each of `calls` on one profiled server (its profile written into a folder of
 * `workDir`), each after WARMUP of them: their wall time, the server's CPU and its profile.
 */
export async function profileCalls(
  workDir: string,
  serverArgs: string[],
  prepare: (client: Client) => Promise<void>,
  calls: Record<string, (client: Client, i: number) => Promise<unknown>>,
  count: number,
  warmup = WARMUP,
  profiled = CHECKPOINT_MCP,
): Promise<Record<string, ProfiledCalls>> {
  const dir = await profileDir(workDir);
  const server = await startProfiled(dir, serverArgs, profiled);
  const measured: Array<{ name: string; from: number; to: number; cpu: number; main: number }> = [];
  try {
    await prepare(server.client);
    for (const [name, call] of Object.entries(calls)) {
      for (let i = 0; i < warmup; i++) await call(server.client, i);
      const cpuBefore = await cpuMs(server.pid);
      const mainBefore = await cpuMs(server.pid, true);
      const from = nowUs();
      for (let i = 0; i < count; i++) await call(server.client, warmup + i);
      const to = nowUs();
      const main = (await cpuMs(server.pid, true)) - mainBefore;
      measured.push({ name, from, to, cpu: (await cpuMs(server.pid)) - cpuBefore, main });
    }
  } finally {
    await server.close();
  }
  const { breakdowns } = await readProfile(dir, measured, profiled.bundle, profiled.stages);
  return Object.fromEntries(
    measured.map((run, i) => [
      run.name,
      {
        calls: count,
        wallMs: (run.to - run.from) / 1000 / count,
        cpuMs: run.cpu / count,
        mainCpuMs: run.main / count,
        breakdown: perCall([breakdowns[i] as Breakdown], count),
      },
    ]),
  );
}

/** Section 4's saves, pings and save_checkpoint alone, on one server (checkpoint-mcp or the floor server). */
async function profileSaves(
  workDir: string,
  base: string,
  count: number,
  server = CHECKPOINT_MCP,
): Promise<{ save: ProfiledCalls; ping: ProfiledCalls; checkpoint: ProfiledCalls }> {
  const ref = { project_id: 'profile', session_id: 'save' };
  const profiled = await profileCalls(
    workDir,
    ['--base-dir', base],
    async (client) => {
      await createSession(client, ref);
    },
    {
      save: (client, i) => mixedSave(client, ref, 0, i),
      ping: (client) => client.ping(),
      // Section 4's checkpoints (mixedSave's), on their own.
      checkpoint: (client, i) => saveCheckpoint(client, ref, 1 + (i % 7), 'in_progress', ['w0_last']),
    },
    count,
    // As warm as section 4's servers, whose CPU per save this profile explains.
    WARMUP_SAVES,
    server,
  );
  return {
    save: profiled.save as ProfiledCalls,
    ping: profiled.ping as ProfiledCalls,
    checkpoint: profiled.checkpoint as ProfiledCalls,
  };
}

/** EIGHT profiled servers on one base, each with its client saving into one session until the time is up. */
async function profileEight(
  workDir: string,
  base: string,
  seconds: number,
): Promise<ProfilesResult['eight']> {
  const ref = { project_id: 'profile', session_id: 'eight' };
  const dirs = await Promise.all(Array.from({ length: EIGHT }, () => profileDir(workDir)));
  const servers = await Promise.all(dirs.map((dir) => startProfiled(dir, ['--base-dir', base])));
  let saves = 0;
  let cpu = 0;
  let main = 0;
  let from = 0;
  let to = 0;
  try {
    await createSession((servers[0] as Connection).client, ref);
    // Warmed up as section 4's servers are: the same mix into a session of each server's own.
    await Promise.all(
      servers.map(async (server, w) => {
        const own = { ...ref, session_id: `eight-warmup-${w}` };
        await createSession(server.client, own);
        for (let n = 0; n < WARMUP_SAVES; n++) await mixedSave(server.client, own, w, n);
      }),
    );
    await Promise.all(servers.map((server, w) => mixedSave(server.client, ref, w, 0)));
    const cpuBefore = await Promise.all(servers.map((server) => cpuMs(server.pid)));
    const mainBefore = await Promise.all(servers.map((server) => cpuMs(server.pid, true)));
    from = nowUs();
    const deadline = from + seconds * 1e6;
    await Promise.all(
      servers.map(async (server, w) => {
        for (let n = 1; nowUs() < deadline; n++) {
          await mixedSave(server.client, ref, w, n);
          saves++;
        }
      }),
    );
    to = nowUs();
    const cpuAfter = await Promise.all(servers.map((server) => cpuMs(server.pid)));
    const mainAfter = await Promise.all(servers.map((server) => cpuMs(server.pid, true)));
    cpu = cpuAfter.reduce((sum, after, i) => sum + after - (cpuBefore[i] ?? 0), 0);
    main = mainAfter.reduce((sum, after, i) => sum + after - (mainBefore[i] ?? 0), 0);
  } finally {
    await Promise.all(servers.map((server) => server.close()));
  }
  const breakdowns = await Promise.all(
    dirs.map(
      async (dir) =>
        (await readProfile(dir, [{ from, to }], CHECKPOINT_MCP.bundle, CHECKPOINT_MCP.stages))
          .breakdowns[0] as Breakdown,
    ),
  );
  return {
    processes: EIGHT,
    calls: saves,
    wallMs: (to - from) / 1000 / saves,
    cpuMs: cpu / saves,
    mainCpuMs: main / saves,
    savesPerSecond: saves / ((to - from) / 1e6),
    breakdown: perCall(breakdowns, saves),
  };
}

/** Spawn to the answer of the first tools/list, STARTS times, each server profiled from its start. */
async function profileColdStarts(workDir: string, base: string): Promise<ProfiledStarts> {
  const walls: number[] = [];
  const before: number[] = [];
  const breakdowns: Breakdown[] = [];
  for (let run = 0; run < STARTS; run++) {
    const dir = await profileDir(workDir);
    // As section 5 times it: a bare client, the clock stopped when the answer is read off the pipe.
    const { ms, answeredUs } = await rawToolsList([...profileArgs(dir), SERVER_ENTRY, '--base-dir', base]);
    const spawned = answeredUs - ms * 1000;
    const {
      startUs,
      breakdowns: [breakdown],
    } = await readProfile(dir, [{ from: 0, to: answeredUs }]);
    walls.push(ms);
    before.push((startUs - spawned) / 1000);
    breakdowns.push(breakdown as Breakdown);
  }
  return {
    runs: STARTS,
    wallMs: summarize(walls).median,
    beforeProfilerMs: summarize(before).median,
    breakdown: perCall(breakdowns, STARTS),
  };
}

/** The first call of fresh servers on `base` (after their handshake), STARTS of them one after another. */
async function profileFirstCalls(
  workDir: string,
  base: string,
  call: (server: Connection) => Promise<unknown>,
): Promise<ProfiledStarts> {
  const walls: number[] = [];
  const breakdowns: Breakdown[] = [];
  for (let run = 0; run < STARTS; run++) {
    const dir = await profileDir(workDir);
    const server = await startProfiled(dir, ['--base-dir', base]);
    let window = { from: 0, to: 0 };
    try {
      const from = nowUs();
      await call(server);
      window = { from, to: nowUs() };
    } finally {
      await server.close();
    }
    const {
      breakdowns: [breakdown],
    } = await readProfile(dir, [window]);
    walls.push((window.to - window.from) / 1000);
    breakdowns.push(breakdown as Breakdown);
  }
  return { runs: STARTS, wallMs: summarize(walls).median, breakdown: perCall(breakdowns, STARTS) };
}
