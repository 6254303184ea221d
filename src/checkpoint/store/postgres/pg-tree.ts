import { constants, type Dirent } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type pg from 'pg';
import { CheckpointError } from '../../model/errors.js';
import { createdIndexPath, createdIndexText, parseCreatedIndex } from '../created-index.js';
import { HISTORY_DIR } from '../engine.js';
import { checkout } from './pg-errors.js';
import { CHANGES_CHANNEL } from './pg-watch.js';

const SEGMENT = /^[A-Za-z0-9_.-]{1,255}$/;
/** `{stem}.v{n}.md` as the store writes it: n from 1, no leading zero. */
const HISTORY_NAME = /^(.+)\.v([1-9]\d*)\.md$/;
/**
 * The largest version number an import keeps. The store numbers a document's versions from 1, one per
 * save: a tree it wrote never comes near this. A larger number, put there by hand, would leave the next
 * saves too little room below the history table's integer column (2,147,483,647).
 */
const MAX_VERSION = 1_000_000_000;

export interface TreeCounts {
  folders: number;
  documents: number;
  versions: number;
  /** Entries passed over: links, names the store would never write, other kinds of file. */
  skipped: string[];
  /**
   * Units (a session, or a project's own documents) left as the database has them, each with the tree's
   * files the database holds with other bytes.
   */
  diverged: Array<{ unit: string; differing: string[] }>;
}

/**
 * Writes the whole database as the file engine keeps it: every folder, every document with its
 * last-written time, every kept version as `history/{stem}.v{n}.md` with the time it was written, and
 * beside each project's sessions folder the index of when each session was created (the order
 * list_sessions gives, newest first).
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
  const counts: TreeCounts = { folders: 0, documents: 0, versions: 0, skipped: [], diverged: [] };
  await mkdir(toDir, { recursive: true });
  // A folder made now has the time of the export, so the index keeps each session's own. Made in the
  // order they were created, the folders also list in that order without it (those made within one
  // millisecond aside).
  const folders = await db.query(
    'SELECT path, parent, name, created_at FROM checkpoint_folders ORDER BY created_at, path',
  );
  const sessionTimes = new Map<string, Array<{ name: string; createdMs: number }>>();
  for (const row of folders.rows as Array<{ path: string; parent: string; name: string; created_at: Date }>) {
    await mkdir(join(toDir, ...row.path.split('/')), { recursive: true });
    counts.folders++;
    if (!isSessionsFolder(row.parent)) continue;
    const times = sessionTimes.get(row.parent) ?? [];
    times.push({ name: row.name, createdMs: row.created_at.getTime() });
    sessionTimes.set(row.parent, times);
  }
  for (const [sessions, times] of sessionTimes) {
    const index = createdIndexPath(join(toDir, ...sessions.split('/')));
    await writeDurably(index, Buffer.from(createdIndexText(times), 'utf8'), new Date());
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
 * a session is there whole or not at all. Documents take the tree's bytes and times; kept versions
 * keep their numbers. Nothing stored is replaced (see loadUnit), so a tree loaded twice gives the same
 * rows, and no save acknowledged in between is undone.
 */
export async function importTree(pool: pg.Pool, fromDir: string): Promise<TreeCounts> {
  const counts: TreeCounts = { folders: 0, documents: 0, versions: 0, skipped: [], diverged: [] };
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
    const created = await indexedTimes(fromDir, [project, 'sessions']);
    for (const session of sessions) {
      const ms = created.get(session[2] as string);
      await loadUnit(pool, fromDir, session, counts, new Set(), ms === undefined ? undefined : new Date(ms));
    }
  }
  return counts;
}

interface Row {
  kind: 'folder' | 'document' | 'version';
  path: string;
  /** Where the tree keeps it, relative to the tree's root (a kept version's file under history/). */
  file: string;
  /** The file's bytes, as they are: the database keeps bytes, so nothing is decoded on the way. */
  body?: Buffer;
  version?: number;
  at?: Date;
}

type Tally = Pick<TreeCounts, 'folders' | 'documents' | 'versions'>;

/**
 * Loads one unit (a session, or a project's own documents) in one transaction, holding the unit's row
 * in checkpoint_locks as a save of it does, so that a save and the import wait for each other and the
 * import compares against what the last save committed. Import only adds: a document or kept version
 * already in the database is left as it is. When one of them holds other bytes than the tree's (a save
 * acknowledged since the tree was written, or another tree), the whole unit is left as the database
 * has it and named: loading the rest of it would mix two histories of one session.
 */
async function loadUnit(
  pool: pg.Pool,
  root: string,
  unit: string[],
  counts: TreeCounts,
  exclude: Set<string>,
  created?: Date,
): Promise<void> {
  const rows: Row[] = [];
  await collect(root, unit, rows, counts.skipped, exclude, created);
  const client = await checkout(pool);
  try {
    await client.query('BEGIN');
    await client.query(
      'INSERT INTO checkpoint_locks (path) VALUES ($1) ON CONFLICT (path) DO UPDATE SET path = excluded.path',
      [unit.join('/')],
    );
    // Compared under the lock: a save of the unit either committed before (and is seen) or waits.
    const differing = await differingFiles(client, rows);
    if (differing.length > 0) {
      await client.query('ROLLBACK');
      counts.diverged.push({ unit: unit.join('/'), differing });
      return;
    }
    // The unit's ancestors (a session's project and sessions folders) come first.
    for (let depth = 1; depth < unit.length; depth++) {
      const path = unit.slice(0, depth).join('/');
      await client.query(
        'INSERT INTO checkpoint_folders (path, parent, name) VALUES ($1, $2, $3) ON CONFLICT (path) DO NOTHING',
        [path, unit.slice(0, depth - 1).join('/'), unit[depth - 1]],
      );
    }
    const loaded: Tally = { folders: 0, documents: 0, versions: 0 };
    for (const row of rows) await loadRow(client, row, loaded);
    // A document's version counter follows the versions loaded for it, and never goes back: a number
    // a save already gave is never given again.
    await client.query(
      `UPDATE checkpoint_documents d SET versions = h.newest
       FROM (SELECT path, max(version) AS newest FROM checkpoint_history WHERE path = ANY($1::text[]) GROUP BY path) h
       WHERE d.path = h.path AND d.versions < h.newest`,
      [rows.filter((row) => row.kind === 'version').map((row) => row.path)],
    );
    await client.query('COMMIT');
    counts.folders += loaded.folders;
    counts.documents += loaded.documents;
    counts.versions += loaded.versions;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Writes one row where the database has none; a row already there is left as it is. */
async function loadRow(client: pg.PoolClient, row: Row, counts: Tally): Promise<void> {
  const parent = row.path.includes('/') ? row.path.slice(0, row.path.lastIndexOf('/')) : '';
  const name = row.path.slice(row.path.lastIndexOf('/') + 1);
  if (row.kind === 'folder') {
    const folder = await client.query(
      'INSERT INTO checkpoint_folders (path, parent, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (path) DO NOTHING',
      [row.path, parent, name, row.at],
    );
    // Counted when written: importing again says it added nothing.
    counts.folders += folder.rowCount ?? 0;
  } else if (row.kind === 'document') {
    // Announced only when written, and on commit, as a save's change is.
    const document = await client.query(
      `WITH written AS (
         INSERT INTO checkpoint_documents (path, parent, name, body, write_id, updated_at)
         VALUES ($1, $2, $3, $4, gen_random_uuid(), $5) ON CONFLICT (path) DO NOTHING RETURNING path
       )
       SELECT pg_notify($6, json_build_array(current_schema(), path)::text) FROM written`,
      [row.path, parent, name, row.body, row.at, CHANGES_CHANNEL],
    );
    counts.documents += document.rowCount ?? 0;
  } else {
    const version = await client.query(
      `INSERT INTO checkpoint_history (path, parent, version, body, saved_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (path, version) DO NOTHING`,
      [row.path, parent, row.version, row.body, row.at],
    );
    counts.versions += version.rowCount ?? 0;
  }
}

/**
 * The tree's files whose document or kept version the database holds with other bytes, read under the
 * unit's lock. Times are not compared: the same bytes are the same document, whenever written.
 */
async function differingFiles(client: pg.PoolClient, rows: readonly Row[]): Promise<string[]> {
  const documents = rows.filter((row) => row.kind === 'document');
  const versions = rows.filter((row) => row.kind === 'version');
  const stored = new Map<string, Buffer>();
  const found = await client.query(
    `SELECT path, body FROM checkpoint_documents WHERE path = ANY($1::text[])
     UNION ALL SELECT h.path || ' v' || h.version, h.body
     FROM unnest($2::text[], $3::int[]) AS t(path, version) JOIN checkpoint_history h USING (path, version)`,
    [documents.map((row) => row.path), versions.map((row) => row.path), versions.map((row) => row.version)],
  );
  for (const row of found.rows as Array<{ path: string; body: Buffer }>) stored.set(row.path, row.body);
  return rows
    .filter((row) => {
      const body = stored.get(row.kind === 'version' ? `${row.path} v${row.version}` : row.path);
      return body !== undefined && row.body !== undefined && !body.equals(row.body);
    })
    .map((row) => row.file);
}

/**
 * Every folder, document and kept version below `rel`, folders first; what cannot be stored is skipped.
 * `rel` was created at `created` when known, else when the file system says.
 */
async function collect(
  root: string,
  rel: string[],
  rows: Row[],
  skipped: string[],
  exclude: Set<string>,
  created?: Date,
): Promise<void> {
  const absolute = join(root, ...rel);
  const stat = await lstat(absolute);
  const path = rel.join('/');
  const at = created ?? (stat.birthtimeMs > 0 ? stat.birthtime : stat.mtime);
  rows.push({ kind: 'folder', path, file: path, at });
  for (const entry of await readdir(absolute, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    const child = [...rel, entry.name];
    const childPath = child.join('/');
    if (exclude.has(entry.name)) {
      // Loaded as units of their own: only the folder itself belongs here.
      if (entry.isDirectory())
        rows.push({
          kind: 'folder',
          path: childPath,
          file: childPath,
          at: (await lstat(join(root, ...child))).mtime,
        });
      else skipped.push(childPath);
      continue;
    }
    if (!SEGMENT.test(entry.name)) {
      skipped.push(childPath);
    } else if (entry.isDirectory() && entry.name === HISTORY_DIR) {
      await collectHistory(root, child, rows, skipped);
    } else if (entry.isDirectory()) {
      await collect(root, child, rows, skipped, new Set());
    } else if (entry.isFile()) {
      const file = join(root, ...child);
      rows.push({
        kind: 'document',
        path: childPath,
        file: childPath,
        body: await readFile(file),
        at: (await lstat(file)).mtime,
      });
    } else {
      // Links and devices: the store never follows or keeps them.
      skipped.push(childPath);
    }
  }
}

async function collectHistory(root: string, rel: string[], rows: Row[], skipped: string[]): Promise<void> {
  for (const entry of await readdir(join(root, ...rel), { withFileTypes: true })) {
    const match = HISTORY_NAME.exec(entry.name);
    if (entry.name.startsWith('.')) continue;
    // A number the store never writes (0, a leading zero, past MAX_VERSION) is a name it never writes.
    if (!entry.isFile() || !match?.[1] || !SEGMENT.test(entry.name) || Number(match[2]) > MAX_VERSION) {
      skipped.push([...rel, entry.name].join('/'));
      continue;
    }
    const file = join(root, ...rel, entry.name);
    rows.push({
      kind: 'version',
      path: [...rel.slice(0, -1), `${match[1]}.md`].join('/'),
      file: [...rel, entry.name].join('/'),
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

/** Whether `path` is a project's sessions folder, whose folders list_sessions orders by creation. */
function isSessionsFolder(path: string): boolean {
  const parts = path.split('/');
  return parts.length === 2 && parts[1] === 'sessions';
}

/**
 * The creation times the file engine keeps for the folders of `rel` in the index beside it (see
 * createdIndexPath): a tree copied or exported keeps them there, while its folders' own times are
 * those of the copy. Only times are taken from it; no index (or a link in its place) gives none.
 */
async function indexedTimes(root: string, rel: string[]): Promise<Map<string, number>> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(
      createdIndexPath(join(root, ...rel)),
      constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK,
    );
  } catch {
    // None, a link in its place (ELOOP) or unreadable: as the file engine reads it, an empty index.
    return new Map();
  }
  try {
    if (!(await handle.stat()).isFile()) return new Map();
    return parseCreatedIndex(await handle.readFile('utf8')).times;
  } finally {
    await handle.close();
  }
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
