// The durability scenarios of test/durability at their large sizes, plus save latency with and
// without fsync. Prints a table per part; exits non-zero when any write was lost or any file torn.
//
//   npm run stress                     8 x 250 lost-update run, 1,000 kill -9 trials, latency
//   npm run stress -- --trials 100     fewer kill -9 trials (see --help for every option)
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CheckpointManager } from '../src/checkpoint/checkpoint-manager.js';
import { FsStore as Store } from '../src/checkpoint/store/fs/fs-store.js';
import { median } from '../test/durability/harness.js';
import { CrashChain, type CrashTrialReport, runLostUpdates } from '../test/durability/scenarios.js';

const { values: options } = parseArgs({
  options: {
    writers: { type: 'string', default: '8' },
    saves: { type: 'string', default: '250' },
    trials: { type: 'string', default: '1000' },
    chain: { type: 'string', default: '10' },
    parallel: { type: 'string', default: '2' },
    'max-kill-delay': { type: 'string', default: '1200' },
    'latency-saves': { type: 'string', default: '300' },
    only: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (options.help) {
  console.log(`Usage: npm run stress -- [--writers 8] [--saves 250] [--trials 1000] [--chain 10]
  [--parallel 2] [--max-kill-delay 1200] [--latency-saves 300] [--only lost|kill|latency]`);
  process.exit(0);
}

const number = (name: keyof typeof options) => Number(options[name]);
const scratch: string[] = [];
const only = options.only;
let failed = false;

async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'checkpoint-stress-'));
  scratch.push(dir);
  return dir;
}

try {
  console.log(`checkpoint-mcp stress, Node ${process.version}, ${new Date().toISOString()}\n`);
  if (!only || only === 'lost') await lostUpdates();
  if (!only || only === 'kill') await killTrials();
  if (!only || only === 'latency') await latency();
} finally {
  for (const dir of scratch) await rm(dir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

async function lostUpdates(): Promise<void> {
  const writers = number('writers');
  const saves = number('saves');
  const start = performance.now();
  const report = await runLostUpdates(await scratchDir(), writers, saves);
  const seconds = (performance.now() - start) / 1000;
  console.log(`## Lost updates: ${writers} processes x ${saves} saves, one reader alongside\n`);
  table(
    [
      'saves',
      'acknowledged',
      'final revision',
      'expected',
      'lost writes',
      'torn reads',
      'reader parses',
      'seconds',
    ],
    [
      [
        report.saves,
        report.acknowledged,
        report.revision ?? '-',
        report.expectedRevision,
        report.lostWrites,
        report.tornReads,
        report.readerReads,
        seconds.toFixed(1),
      ],
    ],
  );
  for (const problem of report.problems.slice(0, 20)) console.log(`  problem: ${problem}`);
  failed ||= report.problems.length > 0;
}

async function killTrials(): Promise<void> {
  const trials = number('trials');
  const chainLength = number('chain');
  const delay = number('max-kill-delay');
  const chains = Math.ceil(trials / chainLength);
  const reports: CrashTrialReport[] = [];
  const start = performance.now();
  let next = 0;
  const runChains = async () => {
    while (next < chains) {
      const chain = next++;
      const crashes = await CrashChain.create(await scratchDir());
      const length = Math.min(chainLength, trials - chain * chainLength);
      for (let trial = 0; trial < length; trial++) {
        const report = await crashes.trial(delay);
        reports.push(report);
        for (const problem of report.problems) console.log(`  problem (chain ${chain}): ${problem}`);
        if (reports.length % 50 === 0) process.stderr.write(`  ${reports.length}/${trials} kill -9 trials\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: number('parallel') }, runChains));
  const seconds = (performance.now() - start) / 1000;
  const sum = (pick: (report: CrashTrialReport) => number) =>
    reports.reduce((total, r) => total + pick(r), 0);
  console.log(
    `\n## Kill -9: ${trials} trials (chains of ${chainLength}, kill within ${delay} ms of start)\n`,
  );
  table(
    ['trials', 'killed mid-save', 'acknowledged saves', 'lost writes', 'torn files', 'problems', 'seconds'],
    [
      [
        reports.length,
        reports.filter((r) => r.inFlight).length,
        sum((r) => r.acknowledged),
        sum((r) => r.lostWrites),
        sum((r) => r.tornFiles),
        sum((r) => r.problems.length),
        seconds.toFixed(1),
      ],
    ],
  );
  failed ||= reports.some((report) => report.problems.length > 0);
}

async function latency(): Promise<void> {
  const saves = number('latency-saves');
  const rows: Array<Array<string | number>> = [];
  for (const durable of [true, false]) {
    const checkpoints = new CheckpointManager(await Store.open(await scratchDir(), { durable }));
    const ref = { project_id: 'latency', session_id: 'one' };
    await checkpoints.createSession({ ...ref, user_id: 'bench' });
    const timed = async (agent: (i: number) => string) => {
      const times: number[] = [];
      for (let i = 0; i < saves; i++) {
        const content = `${String(i).padStart(6, '0')} ${'x'.repeat(1017)}`;
        const start = performance.now();
        await checkpoints.saveAgentOutput({
          ...ref,
          phase_num: 1,
          agent_name: agent(i),
          output_content: content,
        });
        times.push(performance.now() - start);
      }
      return times;
    };
    const created = await timed((i) => `new_${i}`);
    const overwritten = await timed(() => 'rewritten');
    for (const [kind, times] of [
      ['new file', created],
      ['overwrite (old version to history/)', overwritten],
    ] as const) {
      const sorted = [...times].sort((a, b) => a - b);
      const p90 = sorted[Math.floor(sorted.length * 0.9)] ?? 0;
      rows.push([durable ? 'true (fsync)' : 'false', kind, saves, median(times).toFixed(2), p90.toFixed(2)]);
    }
  }
  console.log(`\n## save_agent_output latency, 1 KB content, one process\n`);
  table(['durable', 'save', 'saves', 'median ms', 'p90 ms'], rows);
}

function table(header: string[], rows: Array<Array<string | number>>): void {
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
