import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { describe, expect, it } from 'vitest';
import { CACHE_STAGES, type CacheStage, CodeCache } from '../src/code-cache.js';
import { tempDir } from './helpers/base-dir.js';
import { SERVER_ENTRY } from './helpers/client.js';

const SOURCE = Buffer.from('(function (a, b) { return [a, b].map((x) => x * 2).join(","); })');

/** A script of SOURCE run once, so that V8 has code to cache, compiled with `cachedData` if given. */
function compiled(cachedData?: Buffer): Script {
  const script = new Script(SOURCE.toString('latin1'), { filename: 'bundle.cjs', cachedData });
  expect(script.runInThisContext()(1, 2)).toBe('2,4');
  return script;
}

async function cacheFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).sort();
}

describe('CodeCache', () => {
  it('reads back what it wrote, at each stage, and V8 accepts it', async () => {
    const dir = join(await tempDir(), 'cache');
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'cold');
    const cold = new CodeCache('bundle.cjs', SOURCE, dir).read();
    expect(cold?.stage).toBe('cold');
    const script = compiled(cold?.data);
    expect(script.cachedDataRejected).toBe(false);
    new CodeCache('bundle.cjs', SOURCE, dir).write(script, 'warm');
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()?.stage).toBe('warm');
    new CodeCache('bundle.cjs', SOURCE, dir).write(script, 'served');
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()?.stage).toBe('served');
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    const [file] = await cacheFiles(dir);
    expect(file).toMatch(new RegExp(`^[0-9a-f]{32}-${process.version}-${process.arch}$`));
    expect((await stat(join(dir, file as string))).mode & 0o777).toBe(0o600);
  });

  it('removes its own cache only, and removing none is no error', async () => {
    const dir = join(await tempDir(), 'cache');
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'served');
    new CodeCache('other.cjs', SOURCE, dir).write(compiled(), 'served');
    new CodeCache('bundle.cjs', SOURCE, dir).remove();
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()).toBeUndefined();
    expect(new CodeCache('other.cjs', SOURCE, dir).read()?.stage).toBe('served');
    new CodeCache('bundle.cjs', SOURCE, dir).remove();
    expect(await cacheFiles(dir)).toHaveLength(1);
  });

  it('another bundle, or this one at another path, does not find the cache of this one', async () => {
    const dir = join(await tempDir(), 'cache');
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'warm');
    expect(new CodeCache('bundle.cjs', Buffer.from(`${SOURCE} `), dir).read()).toBeUndefined();
    // V8 would name the first path in the stack traces of the second.
    expect(new CodeCache('elsewhere/bundle.cjs', SOURCE, dir).read()).toBeUndefined();
  });

  it('a cache whose digest does not match, or cut short, is no cache', async () => {
    const dir = join(await tempDir(), 'cache');
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'warm');
    const [name] = await cacheFiles(dir);
    const file = join(dir, name as string);
    const stored = await readFile(file);
    const flipped = Buffer.from(stored);
    flipped[flipped.length - 1] = (flipped[flipped.length - 1] as number) ^ 1;
    await writeFile(file, flipped);
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()).toBeUndefined();
    await writeFile(file, stored.subarray(0, 40));
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()).toBeUndefined();
    await writeFile(file, '');
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()).toBeUndefined();
    // A whole cache of a stage this build does not know (a later build's) is no cache either.
    const body = Buffer.concat([Buffer.from([CACHE_STAGES.length]), stored.subarray(33)]);
    await writeFile(file, Buffer.concat([createHash('sha256').update(body).digest(), body]));
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()).toBeUndefined();
  });

  it('a cache of another script that reaches V8 is rejected by V8, and the script still runs', async () => {
    // A source this process never compiled: V8 would otherwise take it from its own in-memory cache.
    const source = Buffer.from(`(function () { return ${Date.now()}; })`);
    const dir = join(await tempDir(), 'cache');
    new CodeCache('bundle.cjs', source, dir).write(new Script('0'), 'warm');
    const foreign = new CodeCache('bundle.cjs', source, dir).read();
    expect(foreign?.stage).toBe('warm');
    const script = new Script(source.toString('latin1'), { cachedData: foreign?.data });
    expect(script.cachedDataRejected).toBe(true);
    expect(typeof script.runInThisContext()()).toBe('number');
  });

  it('a directory that others may write to is neither read nor written', async () => {
    const dir = join(await tempDir(), 'cache');
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'warm');
    await chmod(dir, 0o777);
    expect(new CodeCache('bundle.cjs', SOURCE, dir).read()).toBeUndefined();
    const [name] = await cacheFiles(dir);
    const before = await readFile(join(dir, name as string));
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'cold');
    expect(await readFile(join(dir, name as string))).toEqual(before);
  });

  it('a symbolic link in place of the directory is neither followed to read nor to write', async () => {
    const root = await tempDir();
    const real = join(root, 'real');
    new CodeCache('bundle.cjs', SOURCE, real).write(compiled(), 'warm');
    const link = join(root, 'cache');
    await symlink(real, link);
    expect(new CodeCache('bundle.cjs', SOURCE, link).read()).toBeUndefined();
    await mkdir(join(root, 'elsewhere'), { mode: 0o700 });
    const elsewhere = join(root, 'link-to-elsewhere');
    await symlink(join(root, 'elsewhere'), elsewhere);
    new CodeCache('bundle.cjs', SOURCE, elsewhere).write(compiled(), 'warm');
    expect(await readdir(join(root, 'elsewhere'))).toEqual([]);
  });

  it('makes its own directory, but not the temporary directory it belongs in', async () => {
    const tmp = await tempDir();
    new CodeCache('bundle.cjs', SOURCE, join(tmp, 'missing', 'cache')).write(compiled(), 'warm');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('a write removes caches of other bundles untouched for a week, and nothing newer', async () => {
    const dir = join(await tempDir(), 'cache');
    await mkdir(dir, { mode: 0o700 });
    const weekAgo = new Date(Date.now() - 8 * 24 * 60 * 60 * 1000);
    await writeFile(join(dir, 'old'), 'x');
    await utimes(join(dir, 'old'), weekAgo, weekAgo);
    await writeFile(join(dir, 'recent'), 'x');
    new CodeCache('bundle.cjs', SOURCE, dir).write(compiled(), 'warm');
    const files = await cacheFiles(dir);
    expect(files).toHaveLength(2);
    expect(files).toContain('recent');
    expect(files).not.toContain('old');
  });
});

describe('the built server and its code cache', () => {
  /** dist/server.js started with `tmp` as its temporary directory, and a client connected to it. */
  async function startServer(tmp: string): Promise<Client> {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [SERVER_ENTRY, '--base-dir', join(tmp, 'base')],
      env: { ...getDefaultEnvironment(), TMPDIR: tmp },
      stderr: 'pipe',
    });
    const client = new Client({ name: 'code-cache-tests', version: '1.0.0' });
    await client.connect(transport);
    return client;
  }

  /** Starts dist/server.js with `tmp` as its temporary directory, lists its tools and stops it. */
  async function listTools(tmp: string): Promise<number> {
    const client = await startServer(tmp);
    try {
      return (await client.listTools()).tools.length;
    } finally {
      await client.close();
    }
  }

  /** The cache dist/server.js keeps with `tmp` as its temporary directory, and that directory. */
  async function builtServerCache(tmp: string): Promise<{ dir: string; cache: CodeCache }> {
    const dir = join(tmp, `checkpoint-mcp-code-cache-${process.getuid?.() ?? 'user'}`);
    const bundle = fileURLToPath(new URL('../dist/server.cjs', import.meta.url));
    return { dir, cache: new CodeCache(bundle, await readFile(bundle), dir) };
  }

  /** Waits up to 10 s for the server to write `cache` at a stage that `wanted` accepts. */
  async function cacheWritten(cache: CodeCache, wanted: (stage: CacheStage | undefined) => boolean) {
    for (let waited = 0; !wanted(cache.read()?.stage); waited += 50) {
      if (waited > 10_000) throw new Error('the server wrote no such code cache within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('the cache a server writes after collecting garbage for a large request is taken as it is by the next start', async () => {
    const tmp = await tempDir();
    const { dir, cache } = await builtServerCache(tmp);
    const client = await startServer(tmp);
    try {
      const ref = { project_id: 'p', session_id: 's' };
      await client.callTool({ name: 'create_session', arguments: { ...ref, user_id: 'u' } });
      // Over 1 MiB: the server collects garbage once it has answered, before its cache is written.
      const saved = await client.callTool({
        name: 'save_agent_output',
        arguments: { ...ref, phase_num: 1, agent_name: 'big', output_content: 'x'.repeat(1536 * 1024) },
      });
      expect(saved.isError).toBeFalsy();
      // The cache of a server that has answered its first calls, written a second after the start.
      await cacheWritten(cache, (stage) => stage === 'warm' || stage === 'served');
    } finally {
      await client.close();
    }
    const [name] = await cacheFiles(dir);
    const written = await readFile(join(dir, name as string));

    await listTools(tmp);

    // A cache V8 rejected would have been written again as the second server exited.
    expect(await cacheFiles(dir)).toEqual([name]);
    expect((await readFile(join(dir, name as string))).equals(written)).toBe(true);
  });

  it('a server that only shook hands leaves a warm cache; the next, once it has answered a tool call, a served one that later starts keep', async () => {
    const tmp = await tempDir();
    const { dir, cache } = await builtServerCache(tmp);
    const handshake = await startServer(tmp);
    try {
      await handshake.listTools();
      await cacheWritten(cache, (stage) => stage === 'warm');
    } finally {
      await handshake.close();
    }
    // Exiting without a tool call leaves the warm cache as it was.
    expect(cache.read()?.stage).toBe('warm');
    const warm = cache.read()?.data;

    const serving = await startServer(tmp);
    try {
      const created = await serving.callTool({
        name: 'create_session',
        arguments: { project_id: 'p', session_id: 's', user_id: 'u' },
      });
      expect(created.isError).toBeFalsy();
      // Past the second at which a cache is written warm: a stage reached is not taken back by it.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
    } finally {
      await serving.close();
    }
    // Written as the server exited, a tool call answered: its code is in the cache now.
    const served = cache.read();
    expect(served?.stage).toBe('served');
    expect(served?.data.length).toBeGreaterThan(warm?.length ?? 0);

    const later = await startServer(tmp);
    try {
      await later.callTool({ name: 'load_session', arguments: { project_id: 'p', session_id: 's' } });
    } finally {
      await later.close();
    }
    expect(await cacheFiles(dir)).toHaveLength(1);
    expect(cache.read()?.data.equals(served?.data ?? Buffer.alloc(0))).toBe(true);
  });

  it('starts without a cache, from the cache it wrote, and from a corrupt one, listing the same tools', async () => {
    const tmp = await tempDir();
    const { dir, cache } = await builtServerCache(tmp);
    const tools = await listTools(tmp);
    expect(tools).toBeGreaterThan(0);
    const [name] = await cacheFiles(dir);
    expect(name).toBeDefined();
    expect(await listTools(tmp)).toBe(tools);
    await writeFile(join(dir, name as string), 'not a code cache');
    expect(await listTools(tmp)).toBe(tools);
    expect(cache.read()).toBeDefined();
  });
});
