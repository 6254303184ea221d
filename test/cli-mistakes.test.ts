import { spawnSync } from 'node:child_process';
import { chmod, mkdir, readdir, realpath, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';
import { cleanEnvironment, runCli } from './helpers/cli.js';
import { SERVER_ENTRY } from './helpers/client.js';

/** Runs the built server to its end with stdin closed and no CHECKPOINT_* variable of this environment. */
function run(args: readonly string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [SERVER_ENTRY, ...args], {
    env: cleanEnvironment(env),
    input: '',
    encoding: 'utf8',
    timeout: 30_000,
  });
}

/** As run, without blocking this process (which may hold the port the server is to find taken). */
async function runAsync(args: readonly string[], env: Record<string, string> = {}) {
  const { code, stdout, stderr } = await runCli(args, env);
  return { status: code, stdout, stderr };
}

/** A mistake in the set-up: exit code 2, nothing on stdout, and one line on stderr without a stack. */
function expectOneLine(
  result: { stdout: string; stderr: string; status: number | null },
  names: RegExp,
): void {
  expect(result.stdout).toBe('');
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stderr.split('\n')[0]).toMatch(names);
  expect(result.status).toBe(2);
}

describe('a mistake in the command line or the environment', () => {
  it('a base directory that is a file, or under one, is one line naming --base-dir, not a stack', async () => {
    const file = join(await tempDir(), 'projects');
    await writeFile(file, 'not a folder');
    expectOneLine(run(['--base-dir', file]), /--base-dir/);
    expectOneLine(run(['repair', '--base-dir', join(file, 'sub')]), /--base-dir/);
    expectOneLine(run([], { CHECKPOINT_BASE_DIR: '' }), /CHECKPOINT_BASE_DIR/);
  });

  it('a timeout longer than Node.js keeps a timer is refused, not run out after 1 ms', () => {
    expectOneLine(run(['--lock-timeout-ms', '99999999999']), /--lock-timeout-ms must be at most 2147483647/);
    expectOneLine(
      run(['migrate', '--store', 'postgres://u@127.0.0.1:1/db', '--db-timeout-ms', '3000000000']),
      /--db-timeout-ms must be at most/,
    );
    expectOneLine(
      run(['--http', '--port', '0', '--request-timeout-ms', '1e10']),
      /--request-timeout-ms must be at most/,
    );
  });

  it('a --token-file that is missing or a folder is one line naming it, not a stack', async () => {
    const dir = await tempDir();
    for (const tokenFile of [join(dir, 'missing'), dir])
      expectOneLine(
        run(['--http', '--port', '0', '--base-dir', dir, '--token-file', tokenFile]),
        /--token-file .* cannot be read/,
      );
  });

  it('--http on a port another program holds, or a --host that is no address here, is one line', async () => {
    const dir = await tempDir();
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    try {
      const port = String((taken.address() as AddressInfo).port);
      expectOneLine(
        await runAsync(['--http', '--port', port, '--base-dir', dir]),
        /cannot listen on 127\.0\.0\.1:\d+: .*--port 0/,
      );
    } finally {
      taken.close();
    }
    expectOneLine(
      await runAsync(['--http', '--port', '0', '--host', 'no-such-host.invalid', '--base-dir', dir], {
        CHECKPOINT_HTTP_TOKEN: 'a-token',
      }),
      /cannot listen on no-such-host\.invalid:0 .*--host/,
    );
  });

  it('an option this command would ignore is refused: --port without --http, --to with serve', async () => {
    const dir = await tempDir();
    expectOneLine(run(['--base-dir', dir, '--port', '5000']), /--port applies only with --http/);
    expectOneLine(
      run(['--base-dir', dir, '--token-file', join(dir, 't')]),
      /--token-file applies only with --http/,
    );
    expectOneLine(run(['--base-dir', dir, '--to', dir]), /--to applies only to export, not to serve/);
    expectOneLine(
      run(['repair', '--base-dir', dir, '--http']),
      /--http applies only to serve, not to repair/,
    );
  });

  it('a wrong value set in the environment names the variable, which is where it is fixed', async () => {
    const dir = await tempDir();
    expectOneLine(
      run(['--base-dir', dir], { CHECKPOINT_TOOLS: 'CORE' }),
      /^checkpoint-mcp: CHECKPOINT_TOOLS must/,
    );
    expectOneLine(
      run(['--base-dir', dir], { CHECKPOINT_MAX_CONTENT_BYTES: '4MB' }),
      /^checkpoint-mcp: CHECKPOINT_MAX_CONTENT_BYTES must/,
    );
    expectOneLine(
      run(['--base-dir', dir, '--http'], { CHECKPOINT_HTTP_PORT: 'http' }),
      /^checkpoint-mcp: CHECKPOINT_HTTP_PORT must/,
    );
    expectOneLine(
      run(['--base-dir', dir, '--tools', 'x'], { CHECKPOINT_TOOLS: 'y' }),
      /^checkpoint-mcp: --tools must/,
    );
    expectOneLine(
      run(['--base-dir', dir], { CHECKPOINT_STORE_URL: 'mysql://db/x' }),
      /^checkpoint-mcp: CHECKPOINT_STORE_URL must be a postgres/,
    );
  });

  it('repair counts the projects, not the folder of workflow definitions beside them', async () => {
    const base = await tempDir();
    await mkdir(join(base, 'p1', 'sessions'), { recursive: true });
    await mkdir(join(base, 'workflows'));
    await writeFile(join(base, 'workflows', 'code_review.md'), '# Workflow: Code review\n');
    const result = run(['repair', '--base-dir', base]);
    expect(result.stdout).toBe('checked 1 project and 0 sessions: nothing to repair\n');
    expect(result.status).toBe(0);
  });

  it('a base directory of ~/... from a host config is in the home folder, not a folder named ~ here', async () => {
    const home = await realpath(await tempDir());
    const cwd = await tempDir();
    const result = spawnSync(process.execPath, [SERVER_ENTRY], {
      cwd,
      env: cleanEnvironment({ HOME: home, CHECKPOINT_BASE_DIR: '~/checkpoints' }),
      input: '',
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toContain(`serving ${join(home, 'checkpoints')} `);
    expect(await readdir(cwd)).toEqual([]);
  });

  it('a base directory this user may not write is served, with one warning at the start saying so', async () => {
    const base = await tempDir();
    // root writes where the permissions say no: the folder is made immutable for it instead.
    const asRoot = process.getuid?.() === 0;
    const lock = asRoot ? spawnSync('chattr', ['+i', base]) : undefined;
    if (lock !== undefined && lock.status !== 0)
      throw new Error(
        `chattr +i ${base} failed (${lock.stderr}): this test needs ext4 or another file system with the immutable flag when run as root`,
      );
    if (!asRoot) await chmod(base, 0o555);
    try {
      const result = run(['--base-dir', base]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stderr).toMatch(
        /warning: the base directory \S+ is not writable by this user \((EACCES|EPERM)\): reads are answered, every save fails until its permissions let this user write there/,
      );
      expect(result.stderr).toContain(`serving ${await realpath(base)} `);
    } finally {
      if (asRoot) spawnSync('chattr', ['-i', base]);
      else await chmod(base, 0o755);
    }
    // A folder it may write draws no warning.
    expect(run(['--base-dir', base]).stderr).not.toContain('not writable');
  });
});
