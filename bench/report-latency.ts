import { ms, ratio, table } from './lib/markdown.js';
import type { Results } from './lib/results.js';
import type { Summary } from './lib/stats.js';
import { FLOOR_SERVER_CHECKPOINT, FLOOR_SERVER_ROWS, FLOOR_SERVER_SAVE } from './operations.js';
import { FRESH_PROCESSES } from './scaling.js';
import { FLOOR_HISTORY_LINK } from './targets.js';

/**
 * What each operation must do at least: durable writes of the same bytes, the link that keeps a replaced
 * version in history/ (no copy: see history.ts), and one round trip.
 */
const FLOORS: Record<string, { label: string; parts: Array<[string, number]> }> = {
  'save_agent_output 1 KB': { label: 'write 1 KB + ping', parts: [['durable write: agent output 1 KB', 1]] },
  'save_agent_output 100 KB': {
    label: 'write 100 KB + ping',
    parts: [['durable write: agent output 100 KB', 1]],
  },
  'save_agent_output 1 KB, same agent again (history)': {
    label: 'write 1 KB + history link + ping',
    parts: [
      ['durable write: agent output 1 KB', 1],
      [FLOOR_HISTORY_LINK, 1],
    ],
  },
  save_checkpoint: {
    label: 'write checkpoint + history link + write manifest + ping',
    parts: [
      ['durable write: checkpoint.md', 1],
      [FLOOR_HISTORY_LINK, 1],
      ['durable write: session_manifest.md', 1],
    ],
  },
  save_user_feedback: {
    label: 'write feedback + history link + write manifest + ping',
    parts: [
      ['durable write: user_feedback.md', 1],
      [FLOOR_HISTORY_LINK, 1],
      ['durable write: session_manifest.md', 1],
    ],
  },
};

/** Sections 1 and 2: every operation beside its floor, and the floors. */
export function operationsSection(results: Results): string[] {
  const out: string[] = [];
  const ops = results.operations;
  if (ops) {
    const ping = ops.operations.ping;
    const floorOf = (name: string) => {
      const floor = FLOORS[name];
      if (!floor) return { label: 'ping', value: ping?.median ?? Number.NaN };
      const writes = floor.parts.reduce(
        (sum, [part, times]) => sum + times * (ops.operations[part]?.median ?? Number.NaN),
        0,
      );
      return { label: floor.label, value: writes + (ping?.median ?? Number.NaN) };
    };
    const isFloor = (name: string) =>
      name.startsWith('durable ') || name === 'ping' || FLOOR_SERVER_ROWS.includes(name);
    const names = Object.keys(ops.operations).filter((name) => !isFloor(name));
    out.push(
      '',
      '## 1. Operations, sequential',
      '',
      `${ops.calls} calls each after 50 of warm-up, in 10 rounds; the saves go to a fresh session each round, the seven`,
      'phases in turn (new agents each call, except the history row, which saves one agent again and again). Reads',
      'use a finished seven-phase session of 3 agents a phase, 20 KB each. A floor is the sum of the medians of',
      'its parts (section 2): the durable writes of the same bytes the operation writes, plus one round trip.',
      '',
      table(
        ['Operation', 'Median', 'p99', 'Floor', 'Floor median', 'x floor'],
        names.map((name) => {
          const summary = ops.operations[name] as Summary;
          const floor = floorOf(name);
          return [
            name,
            ms(summary.median),
            ms(summary.p99),
            floor.label,
            ms(floor.value),
            ratio(summary.median, floor.value),
          ];
        }),
      ),
      '',
      '## 2. Floors, same rounds',
      '',
      'A durable write done directly in Node: temporary file opened with `wx`, write, fsync, close, rename over the',
      'target, open the directory and fsync it; synchronous calls but for the two fsyncs, which wait in libuv’s',
      'thread pool (its cheapest form, and the store’s). A history link gives a written file a second name in',
      'history/ and fsyncs that folder: how the store keeps a replaced version, without a copy. `ping` is a',
      'no-op MCP round trip (`client.ping()`). The floor server is section 4’s: this SDK and stdio, bundled and',
      'started as the server is, its save_agent_output making the durable write and nothing else, its',
      'save_checkpoint the history link and the two writes of the save_checkpoint floor (bench/floor-server.ts);',
      'what a save costs on this SDK at least, its tools/call dispatch and argument and result checks included.',
      '',
      table(
        ['Floor', 'Bytes', 'Median', 'p99'],
        Object.entries(ops.operations)
          .filter(([name]) => isFloor(name))
          .map(([name, summary]) => [name, bytesOf(name, ops.bytes), ms(summary.median), ms(summary.p99)]),
      ),
    );
  }
  return out;
}

/** Section 3. */
export function scalingSection(results: Results): string[] {
  const out: string[] = [];
  if (results.scaling) {
    const base = results.scaling[0];
    out.push(
      '',
      '## 3. Scaling with the number of sessions',
      '',
      'One project holding N sessions (mvp; phase 1 completed with a 1 KB output, every tenth also 100 KB). One server',
      `per N, called in turns. A first call is made in a fresh server process (its caches empty but for V8's code`,
      `cache, which the run's first server wrote as it exited after one short conversation, a call of each kind, as a host's`,
      `server does after its first conversation; the operating system's page cache is warm), the median of ${FRESH_PROCESSES} processes started one after another. list_sessions asks for the`,
      'first page of 50. The first list_sessions ever made on a base also writes the index of session folders and',
      'their creation times (`.sessions-index`), which later processes read instead of an lstat per folder and, while',
      'the sessions folder is unchanged since, instead of reading the folder: it is timed alone, as "list first ever".',
      '',
      table(
        [
          'Sessions',
          'load_session first',
          'median',
          'p99',
          'x at 10',
          'list first ever',
          'list_sessions first',
          'median',
          'p99',
          'x at 10',
        ],
        results.scaling.map((row) => [
          row.sessions.toLocaleString('en'),
          ms(row.loadCold),
          ms(row.load.median),
          ms(row.load.p99),
          ratio(row.load.median, base?.load.median ?? Number.NaN),
          ms(row.listFirstEver),
          ms(row.listCold),
          ms(row.list.median),
          ms(row.list.p99),
          ratio(row.list.median, base?.list.median ?? Number.NaN),
        ]),
      ),
    );
  }
  return out;
}

/** Section 7. */
export function worstCaseSection(results: Results): string[] {
  const out: string[] = [];
  const worst = results.worstCase;
  if (worst) {
    out.push(
      '',
      '## 7. Worst-case read: 4 MiB of nested lists and tables',
      '',
      `One output of ${worst.bytes.toLocaleString('en')} bytes of nested lists and GFM tables. Reading it takes ${worst.pages} pages of at most the`,
      `1 MiB response budget; the pages joined ${worst.exact ? 'equal' : '**differ from**'} the saved content. get_phase_outputs returns it cut to the budget.`,
      'The floor server (section 2: this SDK and stdio, bench/floor-server.ts) answers in the same rounds with the first',
      'page’s answer read from a file: what carrying that answer from server to client costs on this SDK and client.',
      '',
      table(
        ['Read', 'Calls', 'Median', 'p99'],
        Object.entries(worst.operations).map(([name, summary]) => [
          name,
          String(summary.count),
          ms(summary.median),
          ms(summary.p99),
        ]),
      ),
    );
  }
  return out;
}

/** Section 8. */
export function peerSection(results: Results): string[] {
  const out: string[] = [];
  if (results.peer) {
    out.push(
      '',
      '## 8. Side by side with @modelcontextprotocol/server-memory',
      '',
      'The same client drives both over stdio. Each store holds N records of 1 KB: for us agent outputs in one',
      'seven-phase session, for server-memory entities with one observation each (its JSON-lines file). A saved record',
      'is removed again after each timed save (untimed), so N holds. server-memory does not fsync; we do.',
      '',
      table(
        ['Items', 'Ours', 'Median', 'p99', 'server-memory', 'Median', 'p99', 'Peer / ours'],
        results.peer.flatMap((row) =>
          (
            [
              ['save_agent_output 1 KB', row.ours.save, 'create_entities 1 KB', row.peer.create_entities],
              ['load_session', row.ours.load_session, 'read_graph', row.peer.read_graph],
              ['get_agent_output', row.ours.get_agent_output, 'open_nodes', row.peer.open_nodes],
            ] as const
          ).map(([ours, a, peer, b]) => [
            row.items.toLocaleString('en'),
            ours,
            ms(a.median),
            ms(a.p99),
            peer,
            ms(b.median),
            ms(b.p99),
            ratio(b.median, a.median),
          ]),
        ),
      ),
      '',
      'Before a new name is put in place, its save reads the phase folder’s names, to refuse a name that differs',
      'from one there only in letter case (SPEC: the two would collide on macOS and Windows). That listing alone, a readdir of',
      `a phase folder from the bench process in the same rounds: ${results.peer
        .map(
          (row) =>
            `${ms(row.ours.listing.median)} at ${row.items.toLocaleString('en')} items (some ${Math.ceil(row.items / 7)} names)`,
        )
        .join(', ')}.`,
    );
    // Results from before section 8 timed the floor server have no such row.
    const floorRows = results.peer.filter((row) => row.floorServer !== undefined);
    if (floorRows.length > 0) {
      out.push(
        'The floor server (section 2: this SDK and stdio, its save the durable write and nothing else), saving into',
        `phase folders holding the same names, in the same rounds: ${floorRows
          .map(
            (row) =>
              `${ms(row.floorServer.save.median)} at ${row.items.toLocaleString('en')} items (${ratio(row.peer.create_entities.median, row.floorServer.save.median)} against server-memory)`,
          )
          .join(', ')}.`,
      );
    }
  }
  return out;
}

function bytesOf(name: string, bytes: Record<string, number>): string {
  // The floor server writes the content alone, without a head.
  if (name === FLOOR_SERVER_SAVE) return '1,024';
  // Its checkpoint and manifest are the call's arguments as JSON, some 60 bytes each.
  if (name === FLOOR_SERVER_CHECKPOINT) return '-';
  const key = name.includes('1 KB')
    ? 'small'
    : name.includes('100 KB')
      ? 'large'
      : name.includes('checkpoint')
        ? 'checkpoint'
        : name.includes('manifest')
          ? 'manifest'
          : name.includes('feedback')
            ? 'feedback'
            : undefined;
  return key === undefined ? '-' : (bytes[key] ?? 0).toLocaleString('en');
}
