import type { Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { CheckpointError } from '../../model/errors.js';
import { HISTORY_DIR } from '../engine.js';
import { checkout } from './pg-errors.js';
import { CHANGES_CHANNEL } from './pg-watch.js';

const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;
const HISTORY_NAME = /^(.+)\.v(\d+)\.md$/;

export interface TreeCounts {
  folders: number;
  documents: number;
  versions: number;
  /** Entries passed over: links, names the store would never write, other kinds of file. */
  skipped: string[];
}

/**
 * Writes the whole database as the file engine keeps it: every folder, every document with its
 * last-written time, and every kept version as `history/{stem}.v{n}.md` with the time it was written.
 */
export async function exportTree(pool: pg.Pool, toDir: string): Promise<TreeCounts> {
  const client = await checkout(pool);
  try {
    // One snapshot for the three tables: writers may go on, the tree is as it was at one moment.
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const counts = await exportSnapshot(client, toDir);
    await client.query('COMMIT');
    return counts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function exportSnapshot(db: pg.PoolClient, toDir: string): Promise<TreeCounts> {
  const counts: TreeCounts = { folders: 0, documents: 0, versions: 0, skipped: [] };
  await mkdir(toDir, { recursive: true });
  const folders = await db.query('SELECT path FROM checkpoint_folders ORDER BY path');
  for (const row of folders.rows as Array<{ path: string }>) {
    await mkdir(join(toDir, ...row.path.split('/')), { recursive: true });
    counts.folders++;
  }
  const documents = await db.query('SELECT path, body, updated_at FROM checkpoint_documents ORDER BY path');
  for (const row of documents.rows as Array<{ path: string; body: Buffer; updated_at: Date }>) {
    await writeDurably(join(toDir, ...row.path.split('/')), row.body, row.updated_at);
    counts.documents++;
  }
  const versions = await db.query(
    'SELECT path, parent, version, body, saved_at FROM checkpoint_history ORDER BY path, version',
  );
  for (const row of versions.rows as Array<{
    path: string;
    parent: string;
    version: number;
    body: Buffer;
    saved_at: Date;
  }>) {
    const folder = join(toDir, ...(row.parent === '' ? [] : row.parent.split('/')), HISTORY_DIR);
    await mkdir(folder, { recursive: true });
    const stem = row.path.slice(row.path.lastIndexOf('/') + 1).replace(/\.md$/, '');
    await writeDurably(join(folder, `${stem}.v${row.version}.md`), row.body, row.saved_at);
    counts.versions++;
  }
  return counts;
}

/**
 * Loads a file tree into the database, one session (or one project's own documents) per transaction:
 * a tree loaded twice gives the same rows, and a session is there whole or not at all. Documents take
 * the tree's bytes and times; kept versions keep their numbers.
 */
export async function importTree(pool: pg.Pool, fromDir: string): Promise<TreeCounts> {
  const counts: TreeCounts = { folders: 0, documents: 0, versions: 0, skipped: [] };
  const root = await lstat(fromDir).catch(() => undefined);
  if (!root?.isDirectory()) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `${fromDir} is not a folder: name the base directory to import`,
    );
  }
  for (const project of await childFolders(fromDir, [], counts)) {
    const sessions = (await childFolders(fromDir, [project, 'sessions'], counts)).map((session) => [
      project,
      'sessions',
      session,
    ]);
    // The project's own documents and folders, without its sessions.
    await loadUnit(pool, fromDir, [project], counts, new Set(['sessions']));
    for (const session of sessions) await loadUnit(pool, fromDir, session, counts, new Set());
  }
  return counts;
}

interface Row {
  kind: 'folder' | 'document' | 'version';
  path: string;
  /** The file's bytes, as they are: the database keeps bytes, so nothing is decoded on the way. */
  body?: Buffer;
  version?: number;
  at?: Date;
}

async function loadUnit(
  pool: pg.Pool,
  root: string,
  unit: string[],
  counts: TreeCounts,
  exclude: Set<string>,
): Promise<void> {
  const rows: Row[] = [];
  await collect(root, unit, rows, counts, exclude);
  const client = await checkout(pool);
  try {
    await client.query('BEGIN');
    // The unit's ancestors (a session's project and sessions folders) come first.
    for (let depth = 1; depth < unit.length; depth++) {
      const path = unit.slice(0, depth).join('/');
      await client.query(
        'INSERT INTO checkpoint_folders (path, parent, name) VALUES ($1, $2, $3) ON CONFLICT (path) DO NOTHING',
        [path, unit.slice(0, depth - 1).join('/'), unit[depth - 1]],
      );
    }
    for (const row of rows) {
      const parent = row.path.includes('/') ? row.path.slice(0, row.path.lastIndexOf('/')) : '';
      const name = row.path.slice(row.path.lastIndexOf('/') + 1);
      if (row.kind === 'folder') {
        await client.query(
          'INSERT INTO checkpoint_folders (path, parent, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO NOTHING',
          [row.path, parent, name, row.at],
        );
        counts.folders++;
      } else if (row.kind === 'document') {
        await client.query(
          `INSERT INTO checkpoint_documents (path, parent, name, body, write_id, updated_at) VALUES ($1, $2, $3, $4, gen_random_uuid(), $5)
           ON CONFLICT (path) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at,
             write_id = CASE WHEN checkpoint_documents.body = excluded.body AND checkpoint_documents.updated_at = excluded.updated_at
               THEN checkpoint_documents.write_id ELSE excluded.write_id END`,
          [row.path, parent, name, row.body, row.at],
        );
        await client.query('SELECT pg_notify($1, json_build_array(current_schema(), $2::text)::text)', [
          CHANGES_CHANNEL,
          row.path,
        ]);
        counts.documents++;
      } else {
        await client.query(
          `INSERT INTO checkpoint_history (path, parent, version, body, saved_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (path, version) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at`,
          [row.path, parent, row.version, row.body, row.at],
        );
        counts.versions++;
      }
    }
    // A document's version counter follows the versions loaded for it.
    await client.query(
      `UPDATE checkpoint_documents d SET versions = h.newest
       FROM (SELECT path, max(version) AS newest FROM checkpoint_history WHERE path = ANY($1::text[]) GROUP BY path) h
       WHERE d.path = h.path AND d.versions <> h.newest`,
      [rows.filter((row) => row.kind === 'version').map((row) => row.path)],
    );
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Every folder, document and kept version below `rel`, folders first; what cannot be stored is skipped. */
async function collect(
  root: string,
  rel: string[],
  rows: Row[],
  counts: TreeCounts,
  exclude: Set<string>,
): Promise<void> {
  const absolute = join(root, ...rel);
  const stat = await lstat(absolute);
  rows.push({ kind: 'folder', path: rel.join('/'), at: stat.birthtimeMs > 0 ? stat.birthtime : stat.mtime });
  for (const entry of await readdir(absolute, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const path = [...rel, entry.name];
    if (exclude.has(entry.name)) {
      // Loaded as units of their own: only the folder itself belongs here.
      if (entry.isDirectory())
        rows.push({ kind: 'folder', path: path.join('/'), at: (await lstat(join(root, ...path))).mtime });
      else counts.skipped.push(path.join('/'));
      continue;
    }
    if (!SEGMENT.test(entry.name)) {
      counts.skipped.push(path.join('/'));
    } else if (entry.isDirectory() && entry.name === HISTORY_DIR) {
      await collectHistory(root, path, rows, counts);
    } else if (entry.isDirectory()) {
      await collect(root, path, rows, counts, new Set());
    } else if (entry.isFile()) {
      const file = join(root, ...path);
      rows.push({
        kind: 'document',
        path: path.join('/'),
        body: await readFile(file),
        at: (await lstat(file)).mtime,
      });
    } else {
      // Links and devices: the store never follows or keeps them.
      counts.skipped.push(path.join('/'));
    }
  }
}

async function collectHistory(root: string, rel: string[], rows: Row[], counts: TreeCounts): Promise<void> {
  for (const entry of await readdir(join(root, ...rel), { withFileTypes: true })) {
    const match = HISTORY_NAME.exec(entry.name);
    if (entry.name.startsWith('.')) continue;
    if (!entry.isFile() || !match?.[1] || !SEGMENT.test(entry.name)) {
      counts.skipped.push([...rel, entry.name].join('/'));
      continue;
    }
    const file = join(root, ...rel, entry.name);
    rows.push({
      kind: 'version',
      path: [...rel.slice(0, -1), `${match[1]}.md`].join('/'),
      version: Number(match[2]),
      body: await readFile(file),
      at: (await lstat(file)).mtime,
    });
  }
}

async function childFolders(root: string, rel: string[], counts: TreeCounts): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, ...rel), { withFileTypes: true });
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return [];
    throw error;
  }
  const folders: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    if (entry.isDirectory() && SEGMENT.test(entry.name)) folders.push(entry.name);
    // Beside the projects and beside the sessions only folders belong: anything else is said, not lost.
    else counts.skipped.push([...rel, entry.name].join('/'));
  }
  return folders.sort();
}

async function writeDurably(path: string, body: Buffer, at: Date): Promise<void> {
  const handle = await open(path, 'w', 0o644);
  try {
    await handle.writeFile(body);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await utimes(path, at, at);
}

export function assertPostgresUrl(url: string): void {
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      'the store URL must start with postgres:// or postgresql://',
    );
  }
}
