// V8 CPU profiles of the built server (node --cpu-prof), read into where its main thread spent its
// time: each sample is counted to the code it was in, bundled modules told apart by the source map
// esbuild writes beside the minified bundle (dist/server.cjs.map).
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { SourceMap, type SourceMapPayload } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SERVER_ENTRY } from './server.js';

/** Sampling interval of the profiles, microseconds. */
const INTERVAL_US = 100;

const BUNDLE = SERVER_ENTRY.replace(/\.js$/, '.cjs');

export const BUCKETS = {
  ours: 'checkpoint-mcp (src/)',
  sdk: 'MCP SDK (JSON-RPC framing, dispatch)',
  zod: 'zod (the SDK’s schemas built at load; arguments and results checked)',
  markdown: 'markdown parser (mdast, micromark)',
  pg: 'pg client',
  fs: 'file system calls (node:fs)',
  node: 'Node streams, events, timers (stdio, sockets)',
  load: 'loading code (the bundle from its code cache, Node’s own modules)',
  gc: 'garbage collection',
  program: 'V8 and Node outside JavaScript (compiling, loading code, native I/O)',
  other: 'other',
  idle: 'idle: waiting on the disk (fsync in the thread pool), the client or PostgreSQL',
} as const;
export type Bucket = keyof typeof BUCKETS;

/** Milliseconds of the main thread in each bucket, and in checkpoint-mcp's own files. */
export interface Breakdown {
  ms: Record<Bucket, number>;
  /** checkpoint-mcp's time by source file, largest first. */
  ourFiles: Array<{ file: string; ms: number }>;
  /** zod's time by whose code called it: the SDK's (its protocol schemas), ours (the tools'), other. */
  zodFrom: Record<ZodCaller, number>;
  /**
   * The busy time by stage (see Stages), when stages were asked for: each sample counted to the innermost
   * function of a stage on its stack; under none, to REST when it is in the server's own code, else OUTSIDE.
   */
  stages: Record<string, number>;
}

/**
 * Stages of an operation, each named by its key: the functions doing it, by the bundled module that
 * holds them. A function's time holds what it calls (the file system calls it makes among them), but for
 * a function of another stage: a path check made by a write is the path checks'. A stage's function
 * found in no module of the bundle is an error: its row would read nothing.
 */
export type Stages = Record<string, Record<string, readonly string[]>>;
/** A stage: a sample in the server's own code under no stage's function. */
export const REST = 'rest';
/** A stage: any other sample under no stage's function (the SDK, zod, Node's streams, V8, the collector). */
export const OUTSIDE = 'outside';

type ZodCaller = 'sdk' | 'ours' | 'other';

interface Where {
  bucket: Bucket;
  file?: string;
  zodCaller?: ZodCaller;
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Node arguments that profile a server into `dir`. */
export function profileArgs(dir: string): string[] {
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`, `--cpu-prof-interval=${INTERVAL_US}`];
}

export async function profileDir(workDir: string): Promise<string> {
  return mkdtemp(join(workDir, 'profile-'));
}

/** The clock of V8's profiles (CLOCK_MONOTONIC, microseconds), for windows of time. */
export function nowUs(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/** A window [from, to] of monotonic microseconds (nowUs). */
export interface Window {
  from: number;
  to: number;
}

/**
 * The one profile a server wrote into `dir` (it writes when it exits), broken down for each window,
 * and when the profiler started (monotonic microseconds). The directory is removed.
 */
export async function readProfile(
  dir: string,
  windows: readonly Window[],
  /** The bundle the server ran (the floor server's is another). */
  bundle = BUNDLE,
  stages: Stages = {},
): Promise<{ startUs: number; breakdowns: Breakdown[] }> {
  const profile = await profileIn(dir);
  await rm(dir, { recursive: true, force: true });
  const modules = await bundleModules(bundle);
  await assertStagesFound(bundle, modules, stages);
  const byNode = classifyNodes(profile, modules, bundle);
  const stageOf = stagesOfNodes(profile, modules, bundle, stages);
  const staged = Object.keys(stages).length > 0;
  const breakdowns = windows.map(() => emptyBreakdown());
  let at = profile.startTime;
  profile.samples.forEach((node, i) => {
    // A sample's delta is the time since the one before: it is counted to the code it found.
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    const where = byNode.get(node);
    if (!where) return;
    windows.forEach((window, w) => {
      if (at < window.from || at > window.to) return;
      const breakdown = breakdowns[w] as Tally;
      breakdown.ms[where.bucket] += delta / 1000;
      if (where.zodCaller) breakdown.zodFrom[where.zodCaller] += delta / 1000;
      if (where.file) breakdown.files.set(where.file, (breakdown.files.get(where.file) ?? 0) + delta / 1000);
      if (staged && where.bucket !== 'idle') {
        const stage = stageOf.get(node) ?? (where.bucket === 'ours' ? REST : OUTSIDE);
        breakdown.stages[stage] = (breakdown.stages[stage] ?? 0) + delta / 1000;
      }
    });
  });
  return {
    startUs: profile.startTime,
    breakdowns: breakdowns.map(({ ms, files, zodFrom, stages: byStage }) => ({
      ms,
      ourFiles: [...files].map(([file, time]) => ({ file, ms: time })).sort((a, b) => b.ms - a.ms),
      zodFrom,
      stages: byStage,
    })),
  };
}

/** The sum of breakdowns, each divided by `per` (calls, starts). */
export function perCall(breakdowns: readonly Breakdown[], per: number): Breakdown {
  const { ms, zodFrom, stages } = emptyBreakdown();
  const files = new Map<string, number>();
  for (const breakdown of breakdowns) {
    for (const [stage, time] of Object.entries(breakdown.stages))
      stages[stage] = (stages[stage] ?? 0) + time / per;
    for (const bucket of Object.keys(ms) as Bucket[]) ms[bucket] += breakdown.ms[bucket] / per;
    for (const caller of Object.keys(zodFrom) as ZodCaller[])
      zodFrom[caller] += breakdown.zodFrom[caller] / per;
    for (const { file, ms: time } of breakdown.ourFiles) files.set(file, (files.get(file) ?? 0) + time / per);
  }
  return {
    ms,
    ourFiles: [...files].map(([file, time]) => ({ file, ms: time })).sort((a, b) => b.ms - a.ms),
    zodFrom,
    stages,
  };
}

/** The profile in `dir`, once the exiting server has written it whole. */
async function profileIn(dir: string): Promise<CpuProfile> {
  for (let attempt = 0; ; attempt++) {
    const files = (await readdir(dir)).filter((name) => name.endsWith('.cpuprofile'));
    if (files.length > 1) throw new Error(`${dir} holds ${files.length} profiles, not one`);
    try {
      if (files[0] !== undefined)
        return JSON.parse(await readFile(join(dir, files[0]), 'utf8')) as CpuProfile;
    } catch (error) {
      if (attempt >= 100) throw error;
    }
    if (attempt >= 100) throw new Error(`no profile was written into ${dir}`);
    await new Promise((done) => setTimeout(done, 50));
  }
}

/** Time on the main thread that was not idle. */
export function busyMs(breakdown: Breakdown): number {
  return Object.entries(breakdown.ms).reduce((sum, [bucket, ms]) => (bucket === 'idle' ? sum : sum + ms), 0);
}

interface Tally {
  ms: Record<Bucket, number>;
  files: Map<string, number>;
  zodFrom: Record<ZodCaller, number>;
  stages: Record<string, number>;
}

function emptyBreakdown(): Tally {
  const ms = Object.fromEntries(Object.keys(BUCKETS).map((bucket) => [bucket, 0])) as Record<Bucket, number>;
  return { ms, files: new Map(), zodFrom: { sdk: 0, ours: 0, other: 0 }, stages: {} };
}

/**
 * The stage of every node of the profile that has one: the stage of its own function, else its
 * caller's, nearest first. esbuild numbers a top-level function whose
 * name another module's takes (`archive2`): the number is not part of the name.
 */
function stagesOfNodes(
  profile: CpuProfile,
  modules: BundleMap,
  bundle: string,
  stages: Stages,
): Map<number, string> {
  const byFunction = new Map<string, string>();
  for (const [stage, functions] of Object.entries(stages))
    for (const [module, names] of Object.entries(functions))
      for (const name of names) byFunction.set(`${module}#${name}`, stage);
  const found = new Map<number, string>();
  const visit = (node: ProfileNode, outer: string | undefined) => {
    let stage = outer;
    const { url, lineNumber, columnNumber, functionName } = node.callFrame;
    if (url === bundle || url.endsWith(bundle)) {
      const module = moduleAt(modules, lineNumber, columnNumber);
      const own = byFunction.get(`${module}#${functionName.replace(/\d+$/, '')}`);
      if (own !== undefined) stage = own;
    }
    if (stage !== undefined) found.set(node.id, stage);
    for (const child of node.children ?? []) {
      const next = nodesById(profile).get(child);
      if (next) visit(next, stage);
    }
  };
  const root = profile.nodes.find((node) => node.callFrame.functionName === '(root)');
  if (root && Object.keys(stages).length > 0) visit(root, undefined);
  return found;
}

const byIdOf = new WeakMap<CpuProfile, Map<number, ProfileNode>>();

function nodesById(profile: CpuProfile): Map<number, ProfileNode> {
  let byId = byIdOf.get(profile);
  if (byId === undefined) {
    byId = new Map(profile.nodes.map((node) => [node.id, node]));
    byIdOf.set(profile, byId);
  }
  return byId;
}

/**
 * Every function a stage names is defined in its module, as a function or a method, and that module is in
 * `bundle`. The module's own source is read: the bundle is minified.
 */
async function assertStagesFound(bundle: string, modules: BundleMap, stages: Stages): Promise<void> {
  for (const functions of Object.values(stages)) {
    for (const [module, names] of Object.entries(functions)) {
      if (!modules.sources.includes(module)) throw new Error(`${bundle} holds no module ${module}`);
      const text = await readFile(join(ROOT, module), 'utf8');
      for (const name of names) {
        const defined = new RegExp(
          `(?:function\\*?\\s+|^\\s*(?:(?:export|async|static|private|protected|public|override)\\s+)*)${name}\\s*[<(]`,
          'm',
        );
        if (!defined.test(text))
          throw new Error(`${module} defines no function ${name}: bench's stages are out of date`);
      }
    }
  }
}

/**
 * The bucket of every node: its own function's, or, for a native function (no url: JSON.parse, a
 * binding), that of the nearest caller with one, so that the work is counted to whoever asked for it.
 */
function classifyNodes(profile: CpuProfile, modules: BundleMap, bundle: string): Map<number, Where> {
  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node);
  const classes = new Map<number, Where>();
  for (const node of profile.nodes) {
    const name = node.callFrame.functionName;
    if (name === '(root)') continue;
    if (name === '(idle)') classes.set(node.id, { bucket: 'idle' });
    else if (name === '(garbage collector)') classes.set(node.id, { bucket: 'gc' });
    else if (name === '(program)') classes.set(node.id, { bucket: 'program' });
    else {
      let frame: ProfileNode | undefined = node;
      while (frame && frame.callFrame.url === '') frame = parents.get(frame.id);
      classes.set(node.id, frame ? classifyFrame(frame, modules, bundle) : { bucket: 'other' });
    }
  }
  // zod's time goes to whoever called into it: the nearest caller of the SDK's or of ours.
  for (const [id, where] of classes) {
    if (where.bucket !== 'zod') continue;
    let caller: ZodCaller = 'other';
    for (let up = parents.get(id); up; up = parents.get(up.id)) {
      const bucket = classes.get(up.id)?.bucket;
      if (bucket === 'sdk' || bucket === 'ours') {
        caller = bucket;
        break;
      }
    }
    where.zodCaller = caller;
  }
  return classes;
}

function classifyFrame(node: ProfileNode, modules: BundleMap, bundle: string): Where {
  const { url, lineNumber, columnNumber } = node.callFrame;
  if (url === 'node:fs' || url.startsWith('node:internal/fs/')) return { bucket: 'fs' };
  if (
    url === 'node:vm' ||
    url.startsWith('node:internal/bootstrap/') ||
    url.startsWith('node:internal/modules/')
  )
    return { bucket: 'load' };
  if (url.startsWith('node:')) return { bucket: 'node' };
  if (!url.endsWith(bundle) && url !== bundle) return { bucket: 'other' };
  const module = moduleAt(modules, lineNumber, columnNumber);
  // The floor server's own code is bench/'s: its "ours".
  if (module.startsWith('src/') || module.startsWith('bench/')) return { bucket: 'ours', file: module };
  if (module.includes('@modelcontextprotocol/')) return { bucket: 'sdk' };
  if (module.includes('node_modules/zod/')) return { bucket: 'zod' };
  if (/node_modules\/(pg|pg-[a-z]+|pgpass|postgres-[a-z]+)\//.test(module)) return { bucket: 'pg' };
  if (
    /node_modules\/(mdast|micromark|unist|decode-named|character-|markdown-table|zwitch|longest-streak)/.test(
      module,
    )
  )
    return { bucket: 'markdown' };
  return { bucket: 'other' };
}

/** A bundle's source map (node:module's reader), and the bundle's folder its sources are relative to. */
interface BundleMap {
  map: SourceMap;
  folder: string;
  /** Every module, as a path from the repository's root (src/..., bench/..., node_modules/...). */
  sources: string[];
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const mapsOfBundles = new Map<string, Promise<BundleMap>>();

function bundleModules(bundle: string): Promise<BundleMap> {
  let map = mapsOfBundles.get(bundle);
  if (map === undefined) {
    map = readFile(`${bundle}.map`, 'utf8').then((text) => {
      const payload = JSON.parse(text) as SourceMapPayload;
      const folder = dirname(bundle);
      return {
        map: new SourceMap(payload),
        folder,
        sources: payload.sources.map((source) => fromRoot(folder, source)),
      };
    });
    mapsOfBundles.set(bundle, map);
  }
  return map;
}

function fromRoot(folder: string, source: string): string {
  return relative(ROOT, resolve(folder, source)).split(sep).join('/');
}

/**
 * The module at a position of the bundle (line and column from 0, as V8's profiles give them): that of the
 * mapping that began last at or before it; '' for none (esbuild's own helpers).
 */
function moduleAt({ map, folder }: BundleMap, line: number, column: number): string {
  const { originalSource } = map.findEntry(line, column) as { originalSource?: string };
  return originalSource === undefined ? '' : fromRoot(folder, originalSource);
}
