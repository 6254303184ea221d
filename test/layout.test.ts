import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * The core's rooms, lowest first (../shared/LAYOUT.md): a file imports only from its own room and the
 * rooms below it; formats and the store sit side by side on the model and never import each other.
 */
const SRC = fileURLToPath(new URL('../src/', import.meta.url));
const CORE = join(SRC, 'checkpoint');

type Room = 'model' | 'formats' | 'store' | 'engines' | 'session' | 'operations' | 'managers';

const BELOW: Record<Room, readonly Room[]> = {
  model: [],
  formats: ['model'],
  store: ['model'],
  engines: ['model', 'store'],
  session: ['model', 'formats', 'store'],
  operations: ['model', 'formats', 'store', 'session'],
  managers: ['model', 'formats', 'store', 'session', 'operations'],
};

function roomOf(file: string): Room {
  const rel = relative(CORE, file);
  if (rel.startsWith('model/')) return 'model';
  if (rel.startsWith('formats/')) return 'formats';
  if (rel.startsWith('store/fs/') || rel.startsWith('store/postgres/')) return 'engines';
  if (rel.startsWith('store/')) return 'store';
  if (rel.startsWith('session/')) return 'session';
  if (rel.startsWith('operations/')) return 'operations';
  if (!rel.includes('/')) return 'managers';
  throw new Error(`${rel} is in no room of the core`);
}

async function sources(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await sources(path)));
    else if (entry.name.endsWith('.ts')) found.push(path);
  }
  return found.sort();
}

/** Every module specifier a file imports or re-exports, type-only ones included. */
async function importsOf(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom\s+'([^']+)'/gms)].map(
    (match) => match[1] as string,
  );
}

function target(file: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  return resolve(dirname(file), specifier).replace(/\.js$/, '.ts');
}

describe('the layout of the core', () => {
  it('every import of src/checkpoint runs to its own room or a room below, and never to the MCP SDK', async () => {
    const wrong: string[] = [];
    for (const file of await sources(CORE)) {
      const room = roomOf(file);
      for (const specifier of await importsOf(file)) {
        if (specifier.startsWith('@modelcontextprotocol/'))
          wrong.push(`${relative(SRC, file)} imports the SDK`);
        const to = target(file, specifier);
        if (to === undefined) continue;
        if (!to.startsWith(CORE)) {
          wrong.push(`${relative(SRC, file)} imports ${relative(SRC, to)}, outside the core`);
          continue;
        }
        const toRoom = roomOf(to);
        if (toRoom !== room && !BELOW[room].includes(toRoom))
          wrong.push(`${relative(SRC, file)} (${room}) imports ${relative(SRC, to)} (${toRoom})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the managers, the session and the operations see storage only through store/engine.ts', async () => {
    const wrong: string[] = [];
    for (const file of await sources(CORE)) {
      if (['model', 'formats', 'store', 'engines'].includes(roomOf(file))) continue;
      for (const specifier of await importsOf(file)) {
        const to = target(file, specifier);
        if (to && roomOf(to) === 'store' && relative(CORE, to) !== 'store/engine.ts')
          wrong.push(`${relative(SRC, file)} imports ${relative(SRC, to)}`);
        if (to && roomOf(to) === 'engines')
          wrong.push(`${relative(SRC, file)} imports the engine ${relative(SRC, to)}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('no engine imports another engine, and no import circle runs through src/', async () => {
    const files = await sources(SRC);
    const graph = new Map<string, string[]>();
    for (const file of files) {
      const edges = (await importsOf(file)).flatMap((specifier) => target(file, specifier) ?? []);
      graph.set(file, edges);
      if (file.startsWith(CORE) && roomOf(file) === 'engines') {
        const engine = relative(CORE, file).split('/')[1];
        for (const to of edges)
          if (to.startsWith(CORE) && roomOf(to) === 'engines')
            expect(relative(CORE, to).split('/')[1], `${relative(SRC, file)} -> ${relative(SRC, to)}`).toBe(
              engine,
            );
      }
    }
    const circles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (file: string, path: string[]) => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        circles.push(
          [...path.slice(path.indexOf(file)), file].map((step) => relative(SRC, step)).join(' -> '),
        );
        return;
      }
      state.set(file, 'open');
      for (const to of graph.get(file) ?? []) visit(to, [...path, file]);
      state.set(file, 'done');
    };
    for (const file of files) visit(file, []);
    expect(circles).toEqual([]);
  });

  it('the checks see the rooms: a file above importing one below is fine, the other way round is named', () => {
    expect(BELOW.managers).toContain('operations');
    expect(BELOW.formats).not.toContain('store');
    expect(roomOf(join(CORE, 'store/postgres/pg-store.ts'))).toBe('engines');
    expect(roomOf(join(CORE, 'checkpoint-manager.ts'))).toBe('managers');
  });
});
