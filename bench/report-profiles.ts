// The report's last section: for each target this run misses, where the time goes (bench/profiles.ts)
// and what of it is the floor, in sentences made from this run's figures.
import { ms, table } from './lib/markdown.js';
import { type Breakdown, BUCKETS, type Bucket, busyMs, OUTSIDE, REST } from './lib/profile.js';
import type { Results } from './lib/results.js';
import { FLOOR_SERVER_CHECKPOINT, FLOOR_SERVER_SAVE } from './operations.js';
import type { ProfiledCalls } from './profiles.js';
import { FLOOR_WRITE_1KB, floorServerRow, OP_SAVE_1KB } from './targets.js';
import { type ThroughputRow, throughputRow, WARMUP_SAVES } from './throughput.js';
import { FLOOR_SERVER_FIRST_PAGE } from './worst-case.js';

/** The order of the rows: the kinds of work as BUCKETS lists them, idle last. */
const ROWS = Object.keys(BUCKETS) as Bucket[];

export function profilesSection(results: Results): string[] {
  const profiles = results.profiles;
  const pgProfile = results.postgres?.profile;
  if (!profiles && !pgProfile) return [];
  const missed = new Set(results.targets.filter((t) => !t.pass).map((t) => t.target));
  const out = [
    '',
    '## Where the time goes',
    '',
    'The built server again, under V8’s sampling profiler (`node --cpu-prof`, a sample every 100 us), through',
    'the same work as the section that measures it. Each sample is counted to the code it found, a native',
    'function (a system call, JSON.parse) to the JavaScript that called it; modules of the bundle are told',
    'apart by the source map esbuild writes beside the minified dist/server.cjs. For calls, each kind of work is its',
    'share of the main thread’s busy samples times the main thread’s CPU from /proc, per call; for a fresh',
    'process, the samples’ own time. "idle" is the main thread waiting (for fsync in libuv’s thread pool,',
    'the client, the database). The profiler slows what it watches a little: compare the shares, and take',
    'the times themselves from the sections above. Targets missed in this run:',
    '',
    ...(missed.size === 0 ? ['none.'] : [...missed].map((target) => `- ${target}`)),
  ];
  if (profiles)
    out.push(...cpuPerSave(results), ...coldStart(results), ...firstCalls(results), ...largeRead(results));
  out.push(...saveRatio(results));
  if (profiles) out.push(...checkpointAgainstFloor(results));
  out.push(...peerRatio(results));
  if (pgProfile) out.push(...postgresCheckpoint(results, pgProfile));
  return out;
}

/** A kind of work's CPU per call: its share of the main thread's busy samples, of the main thread's CPU. */
function cpuOf(calls: ProfiledCalls, bucket: Bucket): number {
  return (calls.breakdown.ms[bucket] / Math.max(busyMs(calls.breakdown), 1e-9)) * calls.mainCpuMs;
}

/**
 * Rows for calls: each kind of work's share of the main thread's busy samples, as CPU (the share of the
 * main thread's CPU from /proc; under load a sample's time also holds time the thread waited for a CPU),
 * then the threads' CPU, the main thread's idle time and the wall time per call.
 */
function cpuRows(columns: readonly ProfiledCalls[]): string[][] {
  const used = ROWS.filter(
    (bucket) => bucket !== 'idle' && columns.some((column) => column.breakdown.ms[bucket] >= 0.0005),
  );
  return [
    ...used.map((bucket) => [BUCKETS[bucket], ...columns.map((column) => ms(cpuOf(column, bucket)))]),
    [
      'main thread CPU (/proc; the rows above are its shares)',
      ...columns.map((column) => ms(column.mainCpuMs)),
    ],
    [
      'other threads’ CPU (fsync and other calls in libuv’s pool, V8’s helpers, the profiler’s own)',
      ...columns.map((column) => ms(Math.max(0, column.cpuMs - column.mainCpuMs))),
    ],
    [
      'main thread idle (wall time): waiting for the disk, the client, the database',
      ...columns.map((column) => ms(column.breakdown.ms.idle)),
    ],
    ['wall time per call seen by the client', ...columns.map((column) => ms(column.wallMs))],
  ];
}

/** Rows for fresh processes: the main thread's time in each kind of work, as the samples found it. */
function rows(columns: ReadonlyArray<Breakdown>): string[][] {
  const used = ROWS.filter((bucket) => columns.some((column) => column.ms[bucket] >= 0.0005));
  return [
    ...used.map((bucket) => [BUCKETS[bucket], ...columns.map((column) => ms(column.ms[bucket]))]),
    ['main thread busy (all of the above but idle)', ...columns.map((column) => ms(busyMs(column)))],
  ];
}

/** Whose code zod's time was spent for. */
function zodLine(breakdown: Breakdown): string {
  const { sdk, ours, other } = breakdown.zodFrom;
  return `Of zod’s ${ms(breakdown.ms.zod)}, ${ms(sdk)} ran for the SDK’s code (its schemas of the protocol) and ${ms(ours)} for ours (the tools’ arguments and results)${other >= 0.005 ? `, ${ms(other)} for other code` : ''}.`;
}

function ourFiles(breakdown: Breakdown, count = 6): string {
  return breakdown.ourFiles
    .slice(0, count)
    .map(({ file, ms: time }) => `${file.replace(/^src\//, '')} ${ms(time)}`)
    .join(', ');
}

function cpuPerSave(results: Results): string[] {
  const { save, ping, eight, floorSave } = results.profiles as NonNullable<Results['profiles']>;
  const floorCpu = results.throughputFloorCpuMs;
  const one = throughputRow(results.throughput, 1);
  const many = throughputRow(results.throughput, 8);
  const cpus = results.machine.cpus;
  const out = [
    '',
    '### Server CPU per save, and 8 processes on one session',
    '',
    `Saves as section 4 makes them (1 KB outputs, every tenth a save_checkpoint): ${save.calls} by one process`,
    `after a warm-up; then ${eight.processes} processes at once for a fixed time (${eight.calls} saves, summed over`,
    `the ${eight.processes} servers, each warmed up by ${WARMUP_SAVES} saves into a session of its own); and ${ping.calls} MCP pings, what a call`,
    'costs the server with no work in it. Beside them, the floor server of section 4 through the same saves',
    'after the same warm-up: for it, the first row is its own code (bench/floor-server.ts).',
    '',
    table(
      [
        'Server, per call',
        '1 process, save',
        'the floor server, save',
        `${eight.processes} processes, save`,
        'ping',
      ],
      cpuRows([save, floorSave, eight, ping]),
    ),
    '',
    `checkpoint-mcp’s own code per save, by file: with one process ${ourFiles(save.breakdown)}; with`,
    `${eight.processes} ${ourFiles(eight.breakdown)}.`,
    '',
    `Beyond the floor server, per save with one process (profiled main threads): ${growth(floorSave, save, 4)};`,
    `main thread ${ms(save.mainCpuMs)} against ${ms(floorSave.mainCpuMs)}, other threads ${ms(save.cpuMs - save.mainCpuMs)} against ${ms(floorSave.cpuMs - floorSave.mainCpuMs)}.`,
    ...saveStages(results, one),
  ];
  if (floorCpu !== undefined && one) {
    const least = floorCpu + ping.mainCpuMs;
    out.push(
      '',
      `What cannot go: the durable writes of a save alone take ${ms(floorCpu)} of CPU (section 4, done directly in`,
      `Node), and an MCP call with nothing in it ${ms(ping.mainCpuMs)} of the server’s main thread under the profiler (its JSON-RPC`,
      `framing, dispatch and the pipe’s system calls): ${ms(least)} together, ${least > 1 ? 'above' : 'within'} the 1 ms target. What is`,
      `left above those two is the save’s own work: ${ms(Math.max(0, one.serverCpuMsPerSave - least))} of the ${ms(one.serverCpuMsPerSave)} per save that section 4`,
      'measured without the profiler.',
      ...floorServerCost(results, one),
    );
  }
  if (one && many) {
    const perSave = many.serverCpuMsPerSave + many.clientCpuMsPerSave;
    out.push(
      '',
      `With ${many.processes} processes (section 4) a save cost ${ms(many.serverCpuMsPerSave)} of server and ${ms(many.clientCpuMsPerSave)} of client`,
      `CPU, against ${ms(one.serverCpuMsPerSave)} and ${ms(one.clientCpuMsPerSave)} with one: ${cpus} CPUs give at most`,
      `${((cpus * 1000) / perSave).toFixed(0)} saves/s at that cost (measured ${many.savesPerSecond.toFixed(0)}/s). 500/s on ${cpus} CPUs leaves`,
      `${ms((cpus * 1000) / 500)} of CPU per save for server and client together. What grows with ${eight.processes} processes, per save`,
      `(profiled main threads, summed): ${growth(save, eight)}; by stage, ${stageGrowth(save, eight)}.`,
      ...floorServerPace(results, many),
      ...freshServers(results, many),
    );
  }
  return out;
}

/** Section 4's saves by what they do, beside the floor server's, and the room the CPU target leaves. */
function saveStages(results: Results, one: ThroughputRow | undefined): string[] {
  const { save, floorSave } = results.profiles as NonNullable<Results['profiles']>;
  const floor = floorServerRow(results, 1);
  const guarantees = GUARANTEE_STAGES.reduce((sum, stage) => sum + stageCpu(save, stage), 0);
  const out = [
    '',
    'The same saves by what they do (the stages of the section "save_checkpoint against the floor server"), as',
    'main thread CPU:',
    '',
    table(['Per save, main thread CPU', 'checkpoint-mcp', 'the floor server'], stageRows([save, floorSave])),
    '',
    ...stageGap(save, floorSave, 'save'),
  ];
  if (floor && one) {
    const room = 1 - floor.serverCpuMsPerSave;
    const stages = `Its stages there for a guarantee (the lock, the reads, the path checks, the manifest's stamp, the
case-twin lookup, history/) took ${ms(guarantees)} of its profiled main thread per save`;
    out.push(
      ...(room > 0
        ? [
            `The 1 ms target leaves ${ms(room)} of CPU per save beyond the floor server's ${ms(floor.serverCpuMsPerSave)} (section 4); checkpoint-mcp`,
            `took ${ms(one.serverCpuMsPerSave - floor.serverCpuMsPerSave)} more. ${stages}, ${guarantees > room ? 'more than' : 'within'} that room.`,
          ]
        : [
            `The floor server alone took ${ms(floor.serverCpuMsPerSave)} of CPU per save (section 4), above the 1 ms target, and checkpoint-mcp`,
            `${ms(one.serverCpuMsPerSave - floor.serverCpuMsPerSave)} more. ${stages}.`,
          ]),
    );
  }
  return out;
}

/** What the floor server's save cost with one process, beside ours. */
function floorServerCost(results: Results, one: ThroughputRow): string[] {
  const floor = floorServerRow(results, 1);
  if (!floor) return [];
  return [
    `Section 4's floor server, its tools making those writes and nothing else on the same SDK, took`,
    `${ms(floor.serverCpuMsPerSave)} of server CPU per save with one process, ${floor.serverCpuMsPerSave > 1 ? 'above' : 'within'} the target itself; checkpoint-mcp ${ms(one.serverCpuMsPerSave)}.`,
  ];
}

/** Section 4's floor server against ours, same processes, warm-up and harness. */
function floorServerPace(results: Results, many: ThroughputRow): string[] {
  const floor = floorServerRow(results, many.processes);
  if (!floor) return [];
  const cpus = results.machine.cpus;
  const floorCpu = floor.serverCpuMsPerSave + floor.clientCpuMsPerSave;
  const ours = many.serverCpuMsPerSave + many.clientCpuMsPerSave;
  return [
    `The floor server of section 4 (this SDK and harness, its tools only making the durable writes) made`,
    `${floor.savesPerSecond.toFixed(0)}/s at ${ms(floor.serverCpuMsPerSave)} of server and ${ms(floor.clientCpuMsPerSave)} of client CPU per save (at most ${((cpus * 1000) / floorCpu).toFixed(0)}/s on ${cpus} CPUs):`,
    `checkpoint-mcp made ${((100 * many.savesPerSecond) / floor.savesPerSecond).toFixed(0)} % of its pace, at ${ms(ours - floorCpu)} more CPU per save, server and client together.`,
  ];
}

/** How far a fresh server's first calls are from its warm pace, where this run measured both. */
function freshServers(results: Results, many: ThroughputRow): string[] {
  const fresh = throughputRow(results.throughput, many.processes, true);
  const pg = results.postgres;
  const warmth = pg
    ? ` (on PostgreSQL a fresh server's first 300 saves took ${(pg.fresh.median / pg.save.median).toFixed(1)} x its warm median)`
    : '';
  return [
    `Each server had made ${many.warmup} saves before the timed windows, and made ${((many.outputSaves + many.checkpointSaves) / many.processes).toFixed(0)} in the median one;`,
    ...(fresh
      ? [
          `fresh servers, whose first calls run while V8 compiles and optimises their code${warmth}, made`,
          `${fresh.savesPerSecond.toFixed(0)}/s at ${ms(fresh.serverCpuMsPerSave)} of server CPU per save.`,
        ]
      : []),
    `${results.machine.cpus} CPUs were shared by ${many.processes} clients and ${many.processes} servers.`,
  ];
}

/** The kinds of work (three, or `count`) that grew most per call from `before` to `after`, as CPU. */
function growth(before: ProfiledCalls, after: ProfiledCalls, count = 3): string {
  return ROWS.filter((bucket) => bucket !== 'idle')
    .map((bucket) => ({ bucket, more: cpuOf(after, bucket) - cpuOf(before, bucket) }))
    .sort((a, b) => b.more - a.more)
    .slice(0, count)
    .map(({ bucket, more }) => `${BUCKETS[bucket]} +${ms(more)}`)
    .join(', ');
}

function coldStart(results: Results): string[] {
  const { coldStart: start } = results.profiles as NonNullable<Results['profiles']>;
  const measured = results.coldStart;
  const before = start.beforeProfilerMs ?? 0;
  return [
    '',
    '### Cold start',
    '',
    `${start.runs} starts, spawn to the answer of the first tools/list, each server profiled from its start. Node`,
    'starts the profiler once its own start-up is done: the time before it is node’s alone.',
    '',
    table(
      ['Per start (main thread, profile time)', 'Time'],
      [
        ['spawn until the profiler starts (node’s own start-up)', ms(before)],
        ...rows([start.breakdown]),
        ['spawn to the tools/list answer read off the pipe, under the profiler (median)', ms(start.wallMs)],
      ],
    ),
    '',
    `checkpoint-mcp’s own code per start, by file: ${ourFiles(start.breakdown)}. ${zodLine(start.breakdown)}`,
    '',
    ...(measured
      ? [
          `Without the profiler (section 5) the start took ${ms(measured.server.median)}; a bare \`node -e 0\` ${ms(measured.bareNode.median)} from`,
          `spawn to exit. Under the profiler, node’s own start-up (${ms(before)}), loading the code (${ms(start.breakdown.ms.load)}), zod building`,
          `the SDK’s schemas of the protocol (${ms(start.breakdown.zodFrom.sdk)}) and the collections of the young generation while all`,
          `that is allocated (${ms(start.breakdown.ms.gc)}) make ${ms(before + start.breakdown.ms.load + start.breakdown.zodFrom.sdk + start.breakdown.ms.gc)}, against ${ms(start.breakdown.ms.ours)} in checkpoint-mcp’s own code.`,
          'What cannot go: node’s start-up; the loading, which the code cache already makes a deserialisation',
          'instead of a compilation; the SDK building its schemas as it loads (its code, not ours); and the',
          'collections of what those allocate. "idle" is the handshake: the server waiting for the client.',
          `The floor server (section 5: this SDK, bundled and started as dist/server.js is, four tools that write or do`,
          `nothing) took ${ms(measured.floorServer.median)} in the same runs: ${ms(measured.server.median - measured.floorServer.median)} of checkpoint-mcp's start is more than a start on this SDK costs.`,
          ...loadedLine(measured),
        ]
      : []),
  ];
}

/** What each start reads and deserialises, checkpoint-mcp's against the floor server's. */
function loadedLine(measured: NonNullable<Results['coldStart']>): string[] {
  const { server, floorServer } = measured.loaded ?? {};
  if (server === undefined || floorServer === undefined) return [];
  const mb = (bytes: number | undefined) => (bytes === undefined ? 'none' : `${(bytes / 1e6).toFixed(2)} MB`);
  return [
    `Most of that is the larger server loaded: each start reads its bundle (${mb(server.bundle)}, the floor server's`,
    `${mb(floorServer.bundle)}), checks it is ASCII, hashes it and makes a string of it, and deserialises a code cache of`,
    `${mb(server.codeCache)} (the floor server's ${mb(floorServer.codeCache)}): V8's compiled code of a start and of its first calls,`,
    'which is what keeps those first calls from compiling (the first load_session of section 3).',
  ];
}

function firstCalls(results: Results): string[] {
  const { firstLoad, firstList } = results.profiles as NonNullable<Results['profiles']>;
  return [
    '',
    '### First calls in a fresh process, 10,000 sessions',
    '',
    `The first load_session, and in other processes the first list_sessions (first page of 50), after the`,
    `handshake, as section 3 times them; ${firstLoad.runs} fresh processes each.`,
    '',
    table(
      ['Per first call (main thread, profile time)', 'load_session', 'list_sessions'],
      [
        ...rows([firstLoad.breakdown, firstList.breakdown]),
        ['wall time, under the profiler (median)', ms(firstLoad.wallMs), ms(firstList.wallMs)],
      ],
    ),
    '',
    `checkpoint-mcp’s own code, by file: load_session ${ourFiles(firstLoad.breakdown)}; list_sessions`,
    `${ourFiles(firstList.breakdown)}.`,
    '',
    `load_session: ${zodLine(firstLoad.breakdown)} list_sessions: ${zodLine(firstList.breakdown)}`,
    '',
    ...warmAgainst(results),
  ];
}

/** The first calls against the same calls once warm (section 3). */
function warmAgainst(results: Results): string[] {
  const large = results.scaling?.find((row) => row.sessions === 10_000);
  if (!large) return [];
  return [
    `A first call runs code V8 has not compiled yet ("V8 and Node outside JavaScript" holds the lazy`,
    `compilation) and not yet optimised: once warm, the same calls took ${ms(large.load.median)} and ${ms(large.list.median)} (section 3),`,
    `against ${ms(large.loadCold)} and ${ms(large.listCold)} first.`,
    ...(results.coldStart
      ? [
          `The floor server's first tools/call in a fresh process, a tool that does nothing, took ${ms(results.coldStart.floorFirstCall.median)} (section 5):`,
          "this SDK's own first call (its dispatch and checks compiled and run for the first time).",
        ]
      : []),
  ];
}

function largeRead(results: Results): string[] {
  const { largeRead: read } = results.profiles as NonNullable<Results['profiles']>;
  const measured = results.worstCase?.operations['get_agent_output, first page'];
  const floorServer = results.worstCase?.operations[FLOOR_SERVER_FIRST_PAGE];
  return [
    '',
    '### The first page of a 4 MiB output',
    '',
    `get_agent_output of section 7’s output of nested lists and tables, its first page (the 1 MiB budget), ${read.calls}`,
    'times on a profiled server after as many of warm-up.',
    '',
    table(['Server, per read', 'Time'], cpuRows([read])),
    '',
    `checkpoint-mcp’s own code per read, by file: ${ourFiles(read.breakdown)}.`,
    ...(measured
      ? [
          '',
          `Section 7 measured ${ms(measured.median)} without the profiler (p99 ${ms(measured.p99)}). The read parses the document’s head,`,
          'never its body: the file is read, the page cut at the budget and sent. The stdio transport’s share is',
          'the response turned into one JSON line; the streams’ share is writing it to the pipe, which holds',
          '64 KiB at a time, while the client reads.',
        ]
      : []),
    ...(measured && floorServer
      ? [
          `The floor server, sending the same answer read from a file in the same rounds (section 7), took ${ms(floorServer.median)}:`,
          measured.median > floorServer.median
            ? `the read took ${ms(measured.median - floorServer.median)} beyond carrying its answer on this SDK and client.`
            : 'carrying the answer on this SDK and client takes that long at least; the read took no longer.',
        ]
      : []),
  ];
}

/** save_agent_output against its floor and against the floor server, from section 1's rounds. */
function saveRatio(results: Results): string[] {
  const ops = results.operations?.operations;
  const write = ops?.[FLOOR_WRITE_1KB]?.median;
  const ping = ops?.ping?.median;
  const save = ops?.[OP_SAVE_1KB]?.median;
  const floorServer = ops?.[FLOOR_SERVER_SAVE]?.median;
  if (write === undefined || ping === undefined || save === undefined || floorServer === undefined) return [];
  const floor = write + ping;
  return [
    '',
    '### save_agent_output against its floor',
    '',
    `The floor of a 1 KB save is a durable write of the same bytes, ${ms(write)}, and a ping, ${ms(ping)} (section 2): ${ms(floor)}.`,
    `The floor server, on the same SDK and stdio, its save_agent_output making that write and nothing else, took`,
    `${ms(floorServer)} in the same rounds, ${(floorServer / floor).toFixed(2)} x the floor: ${ms(floorServer - floor)} more is this SDK’s tools/call beyond a ping`,
    '(its dispatch, the checks of the request and of the result, the larger message), the least a save costs on',
    `this SDK and stdio. checkpoint-mcp took ${ms(save)}, ${(save / floor).toFixed(2)} x, ${save > floorServer ? `${ms(save - floorServer)} more than` : 'no more than'} the floor server: the save’s`,
    'own work beyond the write, each part there for a guarantee: every folder on the path looked at (no',
    'symbolic link, nothing outside the base), the manifest’s stamp (the phases it trusts are current), the',
    'head rendered and the content’s SHA-256, and for a new name the listing of its folder (no case twin; see',
    'section 8 for what a listing costs). Its CPU by kind and file is in the first table of this section.',
  ];
}

function peerRatio(results: Results): string[] {
  const peer = results.peer?.find((row) => row.items === 1000);
  const ops = results.operations?.operations;
  const write = ops?.[FLOOR_WRITE_1KB]?.median;
  const ping = ops?.ping?.median;
  const save = ops?.[OP_SAVE_1KB]?.median;
  if (!peer || write === undefined || ping === undefined || save === undefined) return [];
  const theirs = peer.peer.create_entities.median;
  const floor = write + ping;
  const needed = theirs / 10;
  // The floor server in section 8's own shape where it ran there, else its save of section 1.
  const floorServer = peer.floorServer?.save.median ?? ops?.[FLOOR_SERVER_SAVE]?.median;
  const where = peer.floorServer === undefined ? 'section 2' : 'section 8, the same folders and rounds';
  return [
    '',
    '### Side by side with server-memory',
    '',
    `At 1,000 items server-memory’s create_entities took ${ms(theirs)} and our save ${ms(peer.ours.save.median)} (section 8). A save`,
    `cannot take less than its floor: a durable write of the same bytes, ${ms(write)}, and one MCP round trip,`,
    `${ms(ping)} (section 2): ${ms(floor)}, so the ratio cannot pass ${(theirs / floor).toFixed(1)} x in this run. 10 x would`,
    `need a save of ${ms(needed)}, ${needed < write ? 'less than the fsync of its file and folder alone on this disk' : 'above that floor'}.`,
    `The save itself was ${(save / floor).toFixed(2)} x its floor (section 1); server-memory writes without fsync.`,
    ...(floorServer === undefined
      ? []
      : [
          `The floor server’s save, this SDK’s least (${where}), took ${ms(floorServer)}: ${(theirs / floorServer).toFixed(1)} x against server-memory.`,
          ...(needed < floorServer
            ? [
                `No save on this SDK and stdio that makes the durable write reaches 10 x in this run: what 10 x needs, ${ms(needed)},`,
                `is ${ms(floorServer - needed)} less than the floor server’s save, which does nothing else (its tools/call and the write).`,
              ]
            : []),
        ]),
    ...(peer.floorServer === undefined
      ? []
      : [
          `Our save there took ${ms(peer.ours.save.median)}, ${peer.ours.save.median > peer.floorServer.save.median ? `${ms(peer.ours.save.median - peer.floorServer.save.median)} more than` : 'no more than'} the floor server’s.`,
        ]),
    `Our save of a new name lists its folder, at 1,000 items some ${Math.ceil(peer.items / 7)} names: that listing alone took ${ms(peer.ours.listing.median)} (section 8);`,
    'it stays, for the SPEC’s refusal of a name that differs from one in the folder only in letter case.',
  ];
}

function postgresCheckpoint(results: Results, profile: ProfiledCalls): string[] {
  const pg = results.postgres as NonNullable<Results['postgres']>;
  const floor = pg.checkpoint.transaction.median + pg.floor.ping.median;
  return [
    '',
    '### save_checkpoint on PostgreSQL',
    '',
    `${profile.calls} save_checkpoint calls on a profiled server, after a warm-up. A save sends six statements and`,
    'waits for one round trip: BEGIN, the lock and the check that what this server last left in the session',
    'still stands leave before it builds its writes; the checkpoint, the manifest and COMMIT follow them',
    'without waiting for an answer (counted by test/postgres/lock-reads.test.ts).',
    '',
    table(['Server, per save', 'Time'], cpuRows([profile])),
    '',
    `checkpoint-mcp’s own code per save, by file: ${ourFiles(profile.breakdown)}.`,
    '',
    `The floor sends the same two documents in one round trip: ${ms(pg.checkpoint.transaction.median)}, and a ping ${ms(pg.floor.ping.median)}`,
    `(${ms(floor)}); the save took ${ms(pg.checkpoint.save.median)}. Its "Node streams" row, ${ms(cpuOf(profile, 'node'))}, is mostly system`,
    'calls: the writes to the database’s socket and to stdout, and the reads of their answers.',
    ...sdkShare(results),
  ];
}

/** The stages of a save (see CHECKPOINT_STAGES), in the order a save_checkpoint makes them. */
const STAGE_ROWS: ReadonlyArray<readonly [string, string]> = [
  [
    'lock',
    'the session’s lock: made whole by a link, checked before each rename, given back by a rename that proves it this holder’s',
  ],
  [
    'reads',
    'every phase’s checkpoint, the time of every review and the manifest read (the manifest is rebuilt from them)',
  ],
  [
    'paths',
    'every folder on the way to each document looked at (no symbolic link, nothing outside the base)',
  ],
  [
    'stamp',
    'the manifest’s stamp looked at, and the manifest read again once it moved (the phases a save_agent_output trusts are current)',
  ],
  [
    'twin',
    'a new name’s folder looked up for a name differing only in letter case (they collide on macOS and Windows)',
  ],
  ['history', 'the version replaced linked into history/'],
  [
    'render',
    'the documents built and rendered as markdown: an output’s head, a checkpoint and the manifest with their sums',
  ],
  ['writes', 'the documents written: temporary files, fsyncs, renames, folders flushed'],
  [
    REST,
    'the rest of the server’s own code (its stdio transport, the tool’s arguments and answer, an output’s SHA-256)',
  ],
  [
    OUTSIDE,
    'the SDK, zod, Node’s streams and V8 outside the stages above: the MCP call itself, garbage collection',
  ],
];

/** The stages that are there for a guarantee of the store (SPEC), not to write or to answer. */
const GUARANTEE_STAGES = ['lock', 'reads', 'paths', 'stamp', 'twin', 'history'];

/** A stage's CPU per call: its share of the busy samples, of the main thread's CPU (as cpuOf). */
function stageCpu(calls: ProfiledCalls, stage: string): number {
  return ((calls.breakdown.stages[stage] ?? 0) / Math.max(busyMs(calls.breakdown), 1e-9)) * calls.mainCpuMs;
}

function stageRows(columns: readonly ProfiledCalls[]): string[][] {
  const used = STAGE_ROWS.filter(([stage]) => columns.some((column) => stageCpu(column, stage) >= 0.005));
  return [
    ...used.map(([stage, label]) => [label, ...columns.map((column) => ms(stageCpu(column, stage)))]),
    ['main thread CPU (/proc)', ...columns.map((column) => ms(column.mainCpuMs))],
  ];
}

/** Each stage in a few words, for sentences. */
const STAGE_NAMES: Record<string, string> = {
  lock: 'the lock',
  reads: 'the reads',
  paths: 'the path checks',
  history: 'history/',
  render: 'building and rendering',
  writes: 'the writes',
  stamp: 'the manifest’s stamp',
  twin: 'the case-twin lookup',
  [REST]: 'the rest of its own code',
  [OUTSIDE]: 'the MCP call',
};

/** The stages (three, or `count`) that grew most per call from `before` to `after`, as CPU. */
function stageGrowth(before: ProfiledCalls, after: ProfiledCalls, count = 3): string {
  return STAGE_ROWS.map(([stage]) => ({ stage, more: stageCpu(after, stage) - stageCpu(before, stage) }))
    .sort((a, b) => b.more - a.more)
    .slice(0, count)
    .map(({ stage, more }) => `${STAGE_NAMES[stage] ?? stage} ${more >= 0 ? '+' : ''}${ms(more)}`)
    .join('; ');
}

/** The main thread's CPU beyond the floor server's, by stage, largest first. */
function stageGap(ours: ProfiledCalls, floor: ProfiledCalls, call: string): string[] {
  const gaps = STAGE_ROWS.map(([stage]) => ({ stage, gap: stageCpu(ours, stage) - stageCpu(floor, stage) }))
    .filter(({ gap }) => Math.abs(gap) >= 0.005)
    .sort((a, b) => b.gap - a.gap);
  return [
    `checkpoint-mcp’s main thread took ${ms(ours.mainCpuMs - floor.mainCpuMs)} more CPU per ${call} than the floor server’s: ${gaps
      .map(({ stage, gap }) => `${STAGE_NAMES[stage] ?? stage} ${gap >= 0 ? '+' : ''}${ms(gap)}`)
      .join(', ')}.`,
  ];
}

/** What a tools/call costs on this SDK beyond a ping, as section 1's floor server measured it. */
function sdkShare(results: Results): string[] {
  const ops = results.operations?.operations;
  const write = ops?.[FLOOR_WRITE_1KB]?.median;
  const ping = ops?.ping?.median;
  const floorServer = ops?.[FLOOR_SERVER_SAVE]?.median;
  if (write === undefined || ping === undefined || floorServer === undefined) return [];
  return [
    `The floor holds a ping, not a tools/call: section 2’s floor server, its save_agent_output making the durable`,
    `write alone, took ${ms(floorServer - write - ping)} more than that write and a ping, what a tools/call costs on this SDK; every save here pays it too.`,
  ];
}

/** The file engine's save_checkpoint against the floor server's, both profiled (and timed in section 1 and 2). */
function checkpointAgainstFloor(results: Results): string[] {
  const { checkpoint, floorCheckpoint } = results.profiles as NonNullable<Results['profiles']>;
  const ops = results.operations?.operations;
  const ours = ops?.save_checkpoint?.median;
  const floorServer = ops?.[FLOOR_SERVER_CHECKPOINT]?.median;
  return [
    '',
    '### save_checkpoint against the floor server',
    '',
    `${checkpoint.calls} save_checkpoint calls as section 4 makes them, on the profiled server of the CPU-per-save table after its`,
    'saves, and as many on the floor server, whose save_checkpoint links the version replaced into history/ and',
    'writes the checkpoint and the manifest, nothing else: no lock, no document read, no path checked.',
    '',
    table(
      ['Server, per save_checkpoint', 'checkpoint-mcp', 'the floor server'],
      cpuRows([checkpoint, floorCheckpoint]),
    ),
    '',
    `checkpoint-mcp’s own code per save_checkpoint, by file: ${ourFiles(checkpoint.breakdown, 8)}.`,
    `Beyond the floor server (profiled main threads): ${growth(floorCheckpoint, checkpoint, 4)}.`,
    '',
    'The same main threads by what the save does: each sample counted to the innermost function of a stage on',
    'its stack (bench/profiles.ts names them), with the file system calls and other native work it makes, as',
    'CPU (its share of the busy samples, of the main thread’s CPU). The floor server does two of these.',
    '',
    table(
      ['Per save_checkpoint, main thread CPU', 'checkpoint-mcp', 'the floor server'],
      stageRows([checkpoint, floorCheckpoint]),
    ),
    '',
    ...stageGap(checkpoint, floorCheckpoint, 'save_checkpoint'),
    ...(ours !== undefined && floorServer !== undefined
      ? [
          `Section 1 timed the save at ${ms(ours)} and section 2 the floor server's at ${ms(floorServer)}, in the same rounds.`,
        ]
      : []),
    'What the save does beyond the floor server, each for a guarantee: it takes the session’s lock (a lock file',
    'made whole and linked into place, then taken back by a rename that proves it is still this holder’s, and',
    'removed), so that two writers never rebuild the manifest from different checkpoints; it reads every',
    'phase’s checkpoint and the time of every review, because the manifest is rebuilt from them and a person',
    'may have edited one by hand; it looks at every folder on the way to each document it reads or writes (no',
    'symbolic link, nothing outside the base); and it renders the checkpoint and the manifest as markdown.',
    'Its writes do more than the floor server’s too: each document written is kept parsed for the next read, and',
    'the manifest’s new stamp is taken, so that the next save_agent_output trusts its phases without a read.',
    'Two things they do differently: a version replaced by one of the same size is not read back to see whether',
    'the bytes are the same (which would add no version) when the digest taken as the save read it, under the',
    'lock, says they differ; and the manifest replaced is given a second name before the rename, which then',
    'frees nothing, and that name is removed through the thread pool while the folders are flushed. A rename',
    'that frees a file waits on the disk here (the mount trims freed blocks): 0.13-0.24 ms of save_checkpoint',
    'in side-by-side runs; the floor’s own write, which has nothing else to do meanwhile, was no faster so.',
  ];
}
