import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * A throwaway PostgreSQL cluster for tests: Debian's binaries, a data directory and a socket in a
 * temp folder, loopback only. PostgreSQL refuses to run as root: as root the cluster runs as the
 * `postgres` user. Starting takes about a second.
 */
export interface TestCluster {
  url: string;
  port: number;
  dataDir: string;
  /** A fresh database in the cluster, for one test file: its URL. */
  database(name: string): Promise<string>;
  /** pg_ctl restart: `immediate` is a crash as far as clients can tell. */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  stop(): Promise<void>;
}

/** Why PostgreSQL tests cannot run here, or undefined when they can. */
export function postgresUnavailable(): string | undefined {
  if (binDir() === undefined)
    return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)';
  if (process.getuid?.() === 0 && runAs() === undefined)
    return 'running as root, and there is no postgres user';
  return undefined;
}

export async function startCluster(): Promise<TestCluster> {
  const bin = binDir();
  if (bin === undefined) throw new Error(postgresUnavailable());
  const root = mkdtempSync(join(tmpdir(), 'checkpoint-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  const owner = runAs();
  spawnSync('mkdir', ['-p', dataDir, socketDir]);
  if (owner) for (const dir of [root, dataDir, socketDir]) chownSync(dir, owner.uid, owner.gid);
  const init = spawnSync(
    join(bin, 'initdb'),
    ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'],
    { encoding: 'utf8', ...(owner ?? {}) },
  );
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr}`);
  const port = await freePort();
  let server = launch(bin, dataDir, socketDir, port, owner);
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await ready(url, server);
  return {
    url,
    port,
    dataDir,
    database: async (name) => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}"`);
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    restart: async (mode) => {
      await stopServer(server, mode === 'immediate' ? 'SIGQUIT' : 'SIGINT');
      server = launch(bin, dataDir, socketDir, port, owner);
      await ready(url, server);
    },
    stop: async () => {
      await stopServer(server, 'SIGINT');
      rmSync(root, { recursive: true, force: true });
    },
  };
}

function binDir(): string | undefined {
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql') : [];
  const newest = versions
    .filter((version) => existsSync(join('/usr/lib/postgresql', version, 'bin', 'postgres')))
    .sort((a, b) => Number(b) - Number(a))[0];
  return newest === undefined ? undefined : join('/usr/lib/postgresql', newest, 'bin');
}

/** The postgres user when this process is root (PostgreSQL will not run as root), else nobody else. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const found = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (found.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(found.stdout.trim()), gid: Number(group.stdout.trim()) };
}

function launch(
  bin: string,
  dataDir: string,
  socketDir: string,
  port: number,
  owner: { uid: number; gid: number } | undefined,
): ChildProcess {
  // fsync off: a test restarts the server, never the machine, and the OS keeps what was written.
  return spawn(
    join(bin, 'postgres'),
    [
      '-D',
      dataDir,
      '-k',
      socketDir,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'fsync=off',
      '-c',
      'max_connections=200',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], ...(owner ?? {}) },
  );
}

async function ready(url: string, server: ChildProcess): Promise<void> {
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString('utf8');
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited with ${server.exitCode}: ${log}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${String(error)}\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

async function stopServer(server: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (server.exitCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  server.kill(signal);
  await exited;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}
