// The floor server (bench/floor-server.ts) built and started as the server itself is: one CommonJS
// bundle with the SDK's Node shims (no Ajv; scripts/bundle.mjs), run by a copy of the launcher
// (dist/server.js), which compiles it with a V8 code cache of its own. Built once a run, before any
// floor server starts, so that its start-up and its first calls are a floor for the server's too.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DIR = join(ROOT, 'node_modules', '.cache', 'checkpoint-mcp-bench', 'floor');
/** The launcher's copy beside the floor server's bundle: `node FLOOR_LAUNCHER --base-dir DIR`. */
export const FLOOR_LAUNCHER = join(DIR, 'server.js');
export const FLOOR_BUNDLE = join(DIR, 'server.cjs');

export async function buildFloorServer(): Promise<void> {
  const shims: Plugin = {
    name: 'sdk-shims',
    setup(plugin) {
      plugin.onResolve({ filter: /^@modelcontextprotocol\/server\/_shims$/ }, () => ({
        path: join(ROOT, 'src', 'sdk-shims.ts'),
      }));
    },
  };
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['bench/floor-server.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    define: { 'import.meta.url': '__entryUrl' },
    logLevel: 'warning',
    write: false,
    // As scripts/bundle.mjs minifies the server's.
    minifyWhitespace: true,
    minifySyntax: true,
    // Its map, as the server's: how its profiles tell the bundle's modules apart (lib/profile.ts).
    sourcemap: 'external',
    sourcesContent: false,
    outfile: FLOOR_BUNDLE,
    plugins: [shims],
  });
  const text = result.outputFiles.find((file) => file.path === FLOOR_BUNDLE)?.text ?? '';
  const map = result.outputFiles.find((file) => file.path === `${FLOOR_BUNDLE}.map`)?.text ?? '';
  // The launcher runs the text inside a function and gives it no loader for import().
  if (/\bimport\(/.test(text))
    throw new Error('the floor server bundle calls import(), which the launcher cannot run');
  await mkdir(DIR, { recursive: true });
  await writeWhole(`${FLOOR_BUNDLE}.map`, map);
  await writeWhole(FLOOR_BUNDLE, text);
  await writeWhole(FLOOR_LAUNCHER, await readFile(join(ROOT, 'dist', 'server.js')));
}

async function writeWhole(file: string, data: string | Buffer): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, data);
  await rename(temporary, file);
}
