import { CheckpointError } from '../model/errors.js';
import { projectFile, sessionsDir } from '../model/paths.js';
import type { Engine, RelPath } from '../store/engine.js';

/**
 * A folder of `parent` whose name differs from `name` only in letter case. On macOS and Windows the two
 * are one folder: a project or session made beside it would be merged into it once the base directory
 * is copied there, and an agent that retyped an id in other letters meant the one there is.
 */
async function folderTwin(store: Engine, parent: RelPath, name: string): Promise<string | undefined> {
  const lower = name.toLowerCase();
  const twin = (await store.list(parent)).find(
    (entry) => entry.kind === 'directory' && entry.name !== name && entry.name.toLowerCase() === lower,
  );
  return twin?.name;
}

/** CONFLICT for a new project whose id differs only in letter case from a folder of the base directory. */
export async function refuseProjectTwin(store: Engine, projectId: string): Promise<void> {
  const twin = await folderTwin(store, [], projectId);
  if (twin === undefined) return;
  const what = (await store.exists(projectFile(twin)))
    ? `the existing project "${twin}"`
    : `the folder "${twin}"`;
  throw new CheckpointError(
    'CONFLICT',
    `project_id "${projectId}" differs only in letter case from ${what}; the two folders would collide on macOS and Windows. Use project_id "${twin}" (get_project reads it), or another id`,
  );
}

/** CONFLICT for a new session whose id differs only in letter case from one of the project's. */
export async function refuseSessionTwin(store: Engine, projectId: string, sessionId: string): Promise<void> {
  const twin = await folderTwin(store, sessionsDir(projectId), sessionId);
  if (twin === undefined) return;
  throw new CheckpointError(
    'CONFLICT',
    `session_id "${sessionId}" differs only in letter case from the existing session "${twin}" of project "${projectId}"; the two folders would collide on macOS and Windows. Call load_session with session_id "${twin}" to continue it, or choose another session_id`,
  );
}
