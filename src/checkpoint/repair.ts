import type { CheckpointManager } from './checkpoint-manager.js';
import { CheckpointError } from './model/errors.js';
import { identifierProblem, RESERVED_PROJECT_ID } from './model/identifiers.js';
import { manifestFile, type RelPath, type SessionRef, sessionDir, sessionsDir } from './model/paths.js';
import type { ManifestProblem } from './session/session-files.js';
import type { Engine } from './store/engine.js';

export interface RepairChange {
  /** Relative to the base directory. */
  path: string;
  action: 'removed' | 'rebuilt' | 'failed';
  reason: string;
}

export interface RepairReport {
  projects: number;
  sessions: number;
  changes: RepairChange[];
}

/** The file engine's lock file in a locked folder (see session-lock.ts). */
const LOCK_NAME = '.lock';

/** Depth of history/ below the base directory: project, sessions, session, phase, history. */
const TREE_DEPTH = 5;

const MANIFEST_REASONS: Record<ManifestProblem, string> = {
  missing: 'the manifest was missing; rebuilt from the phase checkpoints',
  unreadable: 'the manifest could not be parsed; rebuilt from the phase checkpoints',
  disagrees: 'the manifest disagreed with the phase checkpoints; rebuilt from them',
};

/**
 * Brings a whole base directory back to a consistent state: orphaned temporary files and lock
 * leftovers are removed, so is the lock file of a writer killed while it held it, and every manifest
 * that is not a true view of its checkpoints is rebuilt.
 */
export async function repairBaseDirectory(
  store: Engine,
  checkpoints: CheckpointManager,
): Promise<RepairReport> {
  const changes = await removeOrphanFiles(store);
  let projects = 0;
  let sessions = 0;
  for (const projectId of await childDirectories(store, [])) {
    // The workflow definitions' folder sits beside the projects and is none (its lock is released all the same).
    if (projectId !== RESERVED_PROJECT_ID) projects++;
    const projectLock = await releaseLeftLock(store, [projectId]);
    if (projectLock) changes.push(projectLock);
    for (const sessionId of await childDirectories(store, sessionsDir(projectId))) {
      sessions++;
      const ref = { project_id: projectId, session_id: sessionId };
      const lock = await releaseLeftLock(store, sessionDir(ref));
      if (lock) changes.push(lock);
      const change = await repairSession(store, checkpoints, ref);
      if (change) changes.push(change);
    }
  }
  return { projects, sessions, changes };
}

/** What startup does: deletes temporary files whose writer is gone, anywhere below the base directory. */
export async function removeOrphanFiles(store: Engine): Promise<RepairChange[]> {
  return (await store.removeOrphans([], TREE_DEPTH)).map((path) => ({
    path,
    action: 'removed',
    reason: path.endsWith('.tmp')
      ? 'temporary file of a write that never finished (its process is gone)'
      : 'leftover of a lock taken over from a dead or stale holder',
  }));
}

/** The report as lines for a terminal: one per change, then a summary. */
export function formatRepairReport(report: RepairReport): string[] {
  const width = Math.max(0, ...report.changes.map((change) => change.action.length));
  const lines = report.changes.map(
    (change) => `${change.action.padEnd(width)}  ${change.path}: ${change.reason}`,
  );
  const count = (action: RepairChange['action']) =>
    report.changes.filter((change) => change.action === action).length;
  const checked = `checked ${plural(report.projects, 'project')} and ${plural(report.sessions, 'session')}`;
  lines.push(
    report.changes.length === 0
      ? `${checked}: nothing to repair`
      : `${checked}: ${plural(count('removed'), 'file')} removed, ${plural(count('rebuilt'), 'manifest')} rebuilt, ${plural(count('failed'), 'session')} not repaired`,
  );
  return lines;
}

/**
 * A lock file left by a holder that is gone (killed while it saved), which would otherwise stay until
 * the next save to its folder: taken over as any writer takes it (a dead or stale holder only; a live
 * one is waited for) and given back, which removes it. Nothing on an engine without lock files.
 */
async function releaseLeftLock(store: Engine, folder: RelPath): Promise<RepairChange | undefined> {
  const lock = [...folder, LOCK_NAME];
  if (!(await store.exists(lock))) return undefined;
  try {
    await store.withLock(folder, async () => undefined);
  } catch (error) {
    // Held by a writer at work all along: no leftover.
    if (error instanceof CheckpointError && error.code === 'LOCK_TIMEOUT') return undefined;
    throw error;
  }
  if (await store.exists(lock)) return undefined;
  return {
    path: store.label(lock),
    action: 'removed',
    reason: 'lock file of a writer that is gone (killed while it saved); taken over and given back',
  };
}

async function repairSession(
  store: Engine,
  checkpoints: CheckpointManager,
  ref: SessionRef,
): Promise<RepairChange | undefined> {
  try {
    const problem = await checkpoints.files.repair(ref);
    if (problem)
      return { path: store.label(manifestFile(ref)), action: 'rebuilt', reason: MANIFEST_REASONS[problem] };
  } catch (error) {
    // A checkpoint that cannot be read leaves nothing true to rebuild from: a human has to look.
    if (!(error instanceof CheckpointError)) throw error;
    return {
      path: store.label(sessionDir(ref)),
      action: 'failed',
      reason: `${error.code}: ${error.message}`,
    };
  }
  return undefined;
}

async function childDirectories(store: Engine, rel: readonly string[]): Promise<string[]> {
  return (await store.list(rel))
    .filter((entry) => entry.kind === 'directory' && identifierProblem(entry.name) === undefined)
    .map((entry) => entry.name)
    .sort();
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
