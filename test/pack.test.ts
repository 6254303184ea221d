import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/base-dir.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

describe('npm package', () => {
  it('packs a tarball whose installed checkpoint-mcp bin prints usage for --help', async () => {
    const packDir = await tempDir('checkpoint-mcp-pack-');
    const { stdout } = await run(NPM, ['pack', '--json', '--pack-destination', packDir], { cwd: ROOT });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    if (!packed) throw new Error(`npm pack printed no package: ${stdout}`);
    const files = packed.files.map((file) => file.path);
    expect(files).toContain('dist/server.js');
    expect(files).toContain('package.json');
    expect(files.filter((file) => !/^(dist\/|package\.json$|README\.md$|LICENSE$)/.test(file))).toEqual([]);

    const installDir = await tempDir('checkpoint-mcp-install-');
    await run(
      NPM,
      ['install', '--no-audit', '--no-fund', '--prefer-offline', join(packDir, packed.filename)],
      {
        cwd: installDir,
      },
    );
    const entry = join(installDir, 'node_modules', 'checkpoint-mcp', 'dist', 'server.js');
    expect((await readFile(entry, 'utf8')).startsWith('#!/usr/bin/env node\n')).toBe(true);
    const help = await run(join(installDir, 'node_modules', '.bin', 'checkpoint-mcp'), ['--help'], {
      cwd: installDir,
    });
    expect(help.stdout).toMatch(/^Usage: checkpoint-mcp/);
    expect(help.stdout).toContain('--base-dir');
  }, 180_000);
});
