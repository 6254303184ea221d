import { cells, mb, ms, table } from './lib/markdown.js';
import type { Results } from './lib/results.js';
import { WINDOWS } from './throughput.js';

/** Section 4. */
export function throughputSection(results: Results): string[] {
  if (!results.throughput) return [];
  return [
    '',
    '## 4. Throughput, several processes on one session',
    '',
    'Each client process has its own server process; all share one base directory and save into one session',
    '(1 KB outputs under new agent names, every tenth call a save_checkpoint), each one call at a time, for a',
    'fixed time. Each server first makes the same mix of saves into a session of its own (the warm-up column),',
    `as one serving a long-running agent has, then saves in ${WINDOWS} timed windows one after another; a row gives the`,
    'median window (the others beside it). The last row is the same run with fresh servers, one window. Afterwards every',
    'acknowledged output is read back from disk and its content hash checked, and the manifest Revision must be',
    '1 + the acknowledged checkpoint saves. CPU per save is user + system time from /proc (10 ms ticks) of all',
    'server processes together, and of all client processes, over all saves.',
    ...(results.throughputFloorCpuMs === undefined
      ? []
      : [
          `The floor's CPU for the same saves, their durable writes done directly in Node (one per output; per`,
          `checkpoint, the version replaced linked into history/, the checkpoint and the manifest): ${ms(results.throughputFloorCpuMs)} per save, user + system.`,
        ]),
    '',
    table(
      [
        'Processes',
        'Warm-up saves/server',
        'Seconds',
        'Outputs',
        'Checkpoints',
        'Outputs/s',
        'All saves/s',
        'Errors',
        'Lost outputs',
        'Revision (expected)',
        'Server CPU/save',
        'Client CPU/save',
        'Saves/s of each window',
      ],
      results.throughput.map((row) => [
        String(row.processes),
        String(row.warmup),
        row.seconds.toFixed(1),
        String(row.outputSaves),
        String(row.checkpointSaves),
        row.outputsPerSecond.toFixed(0),
        row.savesPerSecond.toFixed(0),
        String(row.failures),
        String(row.lostOutputs),
        `${row.revision.actual} (${row.revision.expected})`,
        ms(row.serverCpuMsPerSave),
        ms(row.clientCpuMsPerSave),
        windowPaces(row.windows),
      ]),
    ),
    ...floorServerLines(results),
  ];
}

/** Section 4's floor server beside the table. */
function floorServerLines(results: Results): string[] {
  const rows = results.throughputFloorServer ?? [];
  if (rows.length === 0) return [];
  return [
    '',
    'The floor server (bench/floor-server.ts): the same SDK, stdio, client and warm-up, its save tools making',
    "only the floor's durable writes, with synchronous calls but for fsync as the store makes its own (no",
    'markdown, lock or history numbering):',
    '',
    table(
      [
        'Processes',
        'Warm-up saves/server',
        'Seconds',
        'All saves/s',
        'Errors',
        'Server CPU/save',
        'Client CPU/save',
        'Saves/s of each window',
      ],
      rows.map((row) => [
        String(row.processes),
        String(row.warmup),
        row.seconds.toFixed(1),
        row.savesPerSecond.toFixed(0),
        String(row.failures),
        ms(row.serverCpuMsPerSave),
        ms(row.clientCpuMsPerSave),
        windowPaces(row.windows),
      ]),
    ),
  ];
}

function windowPaces(windows: readonly number[]): string {
  return windows.map((pace) => pace.toFixed(0)).join(', ');
}

/** Section 5. */
export function coldStartSection(results: Results): string[] {
  const out: string[] = [];
  const cold = results.coldStart;
  if (cold) {
    out.push(
      '',
      '## 5. Cold start',
      '',
      `Spawn of \`node dist/server.js\` to the answer of the first tools/list (${cold.tools} tools): a bare JSON-RPC client`,
      'sends initialize, then notifications/initialized and tools/list once initialize is answered, and stops the',
      `clock when the tools/list answer is read off the pipe. ${cold.runs} runs, the five taking turns. dist/server.js is ${cold.builtIsBundle ? 'the bin, which runs the bundle dist/server.cjs with V8 code cached by the run’s first server, as it exited after one short conversation (a call of each kind; see section 3)' : 'tsc output, one module per source file'}.`,
      "The second row is the same start through the MCP SDK client (v1), whose listTools also compiles every tool's",
      'output schema with Ajv before it returns: time spent in the client, not in the server.',
      `The third is the same source bundled and minified by esbuild into one ${(cold.bundleBytes / 1e6).toFixed(1)} MB ES module by the bench (no code cache, pg and Ajv included), to compare.`,
      'The fourth is the floor server of sections 2 and 4 (bench/floor-server.ts: this SDK, four tools that make',
      'durable writes or nothing), bundled and started as dist/server.js is, with a code cache of its own written',
      'the same way: what a start on this SDK costs at least. A bare `node -e 0`, spawn to exit, for reference.',
      `The floor server's first tools/call after the handshake (a tool that does nothing), timed in a fresh process`,
      `as section 3 times the server's first calls: ${ms(cold.floorFirstCall.median)} (median of ${cold.runs}; p99 ${ms(cold.floorFirstCall.p99)}).`,
      '',
      table(
        ['Process', 'Median', 'p99', 'Min', 'Max'],
        [
          ['checkpoint-mcp, dist/server.js as built', ...cells(cold.server)],
          ['the same, through the SDK client', ...cells(cold.sdkClient)],
          ['checkpoint-mcp, bundled and minified by the bench', ...cells(cold.bundled)],
          ['the floor server, bundled and started as dist/server.js', ...cells(cold.floorServer)],
          ['node -e 0', ...cells(cold.bareNode)],
        ],
      ),
    );
  }
  return out;
}

/** Section 6. */
export function memorySection(results: Results): string[] {
  const out: string[] = [];
  const memory = results.memory;
  if (memory) {
    out.push(
      '',
      '## 6. Memory',
      '',
      `The server saves ${memory.outputs} outputs of 4 MiB (${memory.agents} agents, so half the saves replace an output and keep`,
      'the old one in history/). Peak is VmHWM from /proc at the end; sampled is the largest VmRSS read every 20 ms.',
      'The server collects garbage once it has answered a request of 1 MiB or more (src/transports/memory.ts):',
      "left to V8's own pace, the garbage of such saves piles up for many saves before a collection.",
      '',
      table(
        ['Outputs', 'Seconds', 'RSS before', 'Peak RSS (VmHWM)', 'Sampled peak'],
        [
          [
            String(memory.outputs),
            memory.seconds.toFixed(1),
            mb(memory.idleRssMiB),
            mb(memory.peakRssMiB),
            mb(memory.sampledPeakMiB),
          ],
        ],
      ),
    );
  }
  return out;
}

/** Streamable HTTP beside stdio. */
export function httpSection(results: Results): string[] {
  if (!results.http) return [];
  const { roundTrip, rates } = results.http;
  return [
    '',
    '## HTTP beside stdio',
    '',
    'The built server twice on one base directory: over stdio (SDK client, `StdioClientTransport`) and with',
    '`serve --http` (SDK v2 client pinned to 2026-07-28, `StreamableHTTPClientTransport`, loopback). One call',
    'at a time, the two transports taking turns in blocks of ten. save_agent_output writes 1 KB durably.',
    '',
    table(
      ['Tool', 'stdio median', 'stdio p99', 'HTTP median', 'HTTP p99', 'HTTP / stdio'],
      roundTrip.map((row) => [
        row.tool,
        ms(row.stdio.median),
        ms(row.stdio.p99),
        ms(row.http.median),
        ms(row.http.p99),
        `${row.ratio.toFixed(2)} x`,
      ]),
    ),
    '',
    'Requests per second: that many HTTP clients in the bench process calling load_session back to back',
    "(the clients share the machine's cores with the server, so this is a floor of what the server does alone).",
    '',
    table(
      ['Clients', 'Seconds', 'Calls', 'Calls/s', 'Errors'],
      rates.map((row) => [
        String(row.clients),
        row.seconds.toFixed(1),
        String(row.calls),
        row.perSecond.toFixed(0),
        String(row.errors),
      ]),
    ),
  ];
}

/** The PostgreSQL engine beside its floor and beside the file engine. */
export function postgresSection(results: Results): string[] {
  if (!results.postgres) return [];
  const { save, fresh, warmup, floor, checkpoint, writers, loadSession } = results.postgres;
  const floorMedian = floor.transaction.median + floor.ping.median;
  const checkpointFloor = checkpoint.transaction.median + floor.ping.median;
  return [
    '',
    '## PostgreSQL engine',
    '',
    'A throwaway local cluster (Debian PostgreSQL, loopback, started with fsync=off: the durability of a',
    "commit is the database's, and this machine measures the engine's own work, not the disk). The built",
    'server over stdio with `--store`. The floor is what one save must do at least: the same statements',
    '(lock the row, keep the old version, write the new, notify) sent by hand in one round trip, plus an MCP',
    `ping over stdio. Saves, floors and pings take turns in 10 rounds, after ${warmup.toLocaleString('en')} saves of warm-up: a fresh`,
    "server runs its first calls at about half its steady pace while V8 compiles the SDK's, zod's, pg's and",
    "our hot paths, so the fresh server's first saves are shown on their own row.",
    '',
    table(
      ['Measure', 'Median', 'p99'],
      [
        ['save_agent_output 1 KB (PostgreSQL)', ms(save.median), ms(save.p99)],
        [`the same, the first ${fresh.count} saves of a fresh server`, ms(fresh.median), ms(fresh.p99)],
        ['floor: the transaction in one round trip', ms(floor.transaction.median), ms(floor.transaction.p99)],
        ['floor: MCP ping', ms(floor.ping.median), ms(floor.ping.p99)],
        ['save / (transaction + ping)', `${(save.median / floorMedian).toFixed(2)} x`, ''],
        ['save_checkpoint (PostgreSQL)', ms(checkpoint.save.median), ms(checkpoint.save.p99)],
        [
          'floor: checkpoint (with history) and manifest in one round trip',
          ms(checkpoint.transaction.median),
          ms(checkpoint.transaction.p99),
        ],
        [
          'save_checkpoint / (transaction + ping)',
          `${(checkpoint.save.median / checkpointFloor).toFixed(2)} x`,
          '',
        ],
      ],
    ),
    '',
    '8 client processes, each with its own fresh server (no warm-up, unlike section 4), saving 1 KB outputs',
    '(every tenth call a save_checkpoint) into one session or into one session each; afterwards every',
    'acknowledged output is read back.',
    '',
    table(
      ['Engine', 'Sessions', 'Seconds', 'Saves', 'Saves/s', 'Errors', 'Lost'],
      writers.map((row) => [
        row.engine,
        String(row.sessions),
        row.seconds.toFixed(1),
        String(row.saves),
        row.savesPerSecond.toFixed(0),
        String(row.failures),
        String(row.lost),
      ]),
    ),
    '',
    `load_session at ${loadSession.sessions.toLocaleString('en')} sessions on PostgreSQL (loaded with \`import\` in ${loadSession.importSeconds.toFixed(0)} s): median ${ms(loadSession.summary.median)}, p99 ${ms(loadSession.summary.p99)}.`,
  ];
}
