// npm run bench: every measurement of issue 7 in one run, written to docs/BENCHMARKS.md and
// docs/bench-results.json. `tsx bench/run.ts --only=operations,peer` runs some sections and only prints.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchColdStart } from './cold-start.js';
import { benchHttp } from './http.js';
import { buildFloorServer } from './lib/floor-build.js';
import { primeCodeCache, primeFloorCodeCache } from './lib/prime.js';
import type { Results } from './lib/results.js';
import { nowMs } from './lib/stats.js';
import { cpuTicks, stealShare } from './lib/steal.js';
import { benchMemory } from './memory.js';
import { benchOperations } from './operations.js';
import { benchPeer } from './peer.js';
import { benchPostgres } from './postgres.js';
import { benchProfiles } from './profiles.js';
import { renderReport } from './report.js';
import { benchScaling } from './scaling.js';
import { judgeTargets } from './targets.js';
import { benchFloorServer, benchThroughput, floorCpuMsPerSave } from './throughput.js';
import { benchWorstCase } from './worst-case.js';

const SECTIONS = [
  'cold-start',
  'operations',
  'worst-case',
  'peer',
  'scaling',
  'throughput',
  'memory',
  'http',
  'postgres',
  'profiles',
] as const;
type Section = (typeof SECTIONS)[number];

const { values } = parseArgs({
  options: { only: { type: 'string' }, keep: { type: 'boolean' }, quick: { type: 'boolean' } },
});
const only = values.only?.split(',') as Section[] | undefined;
const unknown = only?.filter((name) => !SECTIONS.includes(name));
if (unknown?.length)
  throw new Error(`unknown section ${unknown.join(', ')}; sections: ${SECTIONS.join(', ')}`);
const wanted = (section: Section) => only === undefined || only.includes(section);
// --quick: a tenth of the calls, to try the harness; it prints and writes nothing to docs/.
const scale = (count: number) => (values.quick ? Math.max(10, Math.ceil(count / 10)) : count);

const workDir = await mkdtemp(join(tmpdir(), 'checkpoint-mcp-bench-'));
const spread = spreadFolders(workDir);
await primeCodeCache(workDir);
await buildFloorServer();
await primeFloorCodeCache(workDir);
const started = nowMs();
const loadBefore = loadavg();
const ticksBefore = cpuTicks();
const results: Omit<Results, 'targets' | 'machine'> = {};
const step = async <T>(section: Section, run: () => Promise<T>): Promise<T | undefined> => {
  if (!wanted(section)) return undefined;
  const begun = nowMs();
  process.stderr.write(`bench: ${section} ...`);
  const result = await run();
  process.stderr.write(` ${((nowMs() - begun) / 1000).toFixed(0)} s\n`);
  return result;
};

try {
  results.coldStart = await step('cold-start', () => benchColdStart(workDir, values.quick ? 3 : 15));
  results.operations = await step('operations', () => benchOperations(workDir, scale(500)));
  results.worstCase = await step('worst-case', () => benchWorstCase(workDir, scale(50)));
  results.peer = await step('peer', () => benchPeer(workDir, [10, 1000], scale(300)));
  results.scaling = await step('scaling', () =>
    benchScaling(workDir, values.quick ? [10, 1000] : [10, 1000, 10_000], scale(300)),
  );
  results.throughput = await step('throughput', () =>
    benchThroughput(workDir, [1, 4, 8], values.quick ? 1 : 5),
  );
  if (results.throughput) {
    results.throughputFloorServer = [];
    for (const processes of [1, 8]) {
      results.throughputFloorServer.push(await benchFloorServer(workDir, processes, values.quick ? 1 : 5));
    }
    results.throughputFloorCpuMs = await floorCpuMsPerSave(workDir, scale(1000));
  }
  results.memory = await step('memory', () => benchMemory(workDir, scale(200), scale(100)));
  results.http = await step('http', () => benchHttp(workDir, scale(300), values.quick ? 1 : 5));
  results.postgres = await step('postgres', () => benchPostgres(workDir, scale(300), values.quick ? 1 : 5));
  results.profiles = await step('profiles', () => benchProfiles(workDir, scale(1000), values.quick ? 1 : 4));
} finally {
  if (!values.keep) await rm(workDir, { recursive: true, force: true });
}

const cpu = cpus();
const complete: Results = {
  machine: {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    cpus: cpu.length,
    cpuModel: cpu[0]?.model ?? 'unknown',
    loadBefore,
    loadAfter: loadavg(),
    stealShare: stealShare(ticksBefore, cpuTicks()),
    seconds: (nowMs() - started) / 1000,
    spreadFolders: spread,
  },
  ...results,
  targets: judgeTargets(results),
};
const report = renderReport(complete);
if (only === undefined && !values.quick) {
  const docs = new URL('../docs/', import.meta.url);
  await mkdir(docs, { recursive: true });
  await writeFile(new URL('BENCHMARKS.md', docs), report);
  await writeFile(new URL('bench-results.json', docs), `${JSON.stringify(complete, null, 2)}\n`);
  process.stderr.write('bench: wrote docs/BENCHMARKS.md and docs/bench-results.json\n');
}
process.stdout.write(report);

/**
 * Marks `directory` as the top of a tree (ext4's T attribute), so that ext4 places each folder made in
 * it, every section's base, in a block group of its own rather than beside the others. ext4 without a
 * journal (this machine's) skips, each time it makes a file, every inode of the group freed in the last
 * minute (the last six minutes while its inode table block is unwritten), reading each one's deletion time:
 * after 20,000 files were removed from a folder, a durable write there took 1.1 ms more CPU, and 65 s
 * later still 0.3 ms more. Without the mark, one run's servers paid for the files another had removed
 * (its lock files and replaced manifests): fresh servers after the warm runs of section 4 made 60 saves
 * a second, and the floor server took 4.3 ms of CPU a save. Elsewhere (no ext4, no chattr) it does nothing.
 */
function spreadFolders(directory: string): boolean {
  return spawnSync('chattr', ['+T', directory], { stdio: 'ignore' }).status === 0;
}
