import { type ManifestRecord, parseManifest } from '../formats/manifest.js';
import { definedOnly } from '../model/define.js';
import { CheckpointError, isPlantedLink } from '../model/errors.js';
import { identifierProblem } from '../model/identifiers.js';
import { pageOf, type SortKey } from '../model/paging.js';
import { manifestFile, projectFile, sessionsDir } from '../model/paths.js';
import type { ExecutionMode } from '../model/phases.js';
import type { SessionStatus } from '../model/vocabulary.js';
import type { Engine, RelPath } from '../store/engine.js';
import type { ListSessionsRequest } from './requests.js';
import type { SessionFiles } from './session-files.js';
import { nextPhase } from './session-state.js';

export interface SessionSummary {
  session_id: string;
  status: SessionStatus;
  execution_mode: ExecutionMode;
  current_phase: number;
  next_phase?: number;
  created: string;
  last_updated: string;
}

/**
 * Lists sessions newest first, from their manifests only, never from agent outputs. The order is the
 * creation time of each session folder, which never changes and needs no file to be parsed: a page
 * costs one directory listing plus the manifests it returns (parsed again only when changed).
 */
export class SessionLister {
  private readonly created = new Map<string, Map<string, FolderKey>>();
  private readonly sorted = new Map<
    string,
    { names: Set<string>; keys: FolderKey[]; stamp: string | undefined }
  >();

  constructor(
    private readonly store: Engine,
    private readonly files: SessionFiles,
  ) {}

  async list(request: ListSessionsRequest): Promise<{ sessions: SessionSummary[]; next_cursor?: string }> {
    const projectId = request.project_id;
    if (!(await this.store.exists(projectFile(projectId)))) {
      throw new CheckpointError(
        'NOT_FOUND',
        `project "${projectId}" not found; call list_projects or create_project`,
      );
    }
    const keys = await this.sortKeys(projectId);
    const wanted = request.status;
    // A status filter needs every session's manifest; without one only the page's are read.
    let candidates = keys;
    if (wanted !== undefined) {
      candidates = [];
      for (const key of keys) {
        if ((await this.summary(projectId, key.id))?.status === wanted) candidates.push(key);
      }
    }
    const { page, next_cursor } = pageOf(candidates, request.limit, request.cursor, {
      sessions: projectId,
    });
    const sessions = (await Promise.all(page.map((key) => this.summary(projectId, key.id)))).filter(
      (summary): summary is SessionSummary => summary !== undefined,
    );
    return { sessions, ...definedOnly({ next_cursor }) };
  }

  /**
   * Every session folder with its creation time, newest first. A creation time never changes, so it is
   * looked up once per folder, and while the folders are those of the last call its order is reused.
   */
  private async sortKeys(projectId: string): Promise<FolderKey[]> {
    const dir = sessionsDir(projectId);
    const last = this.sorted.get(projectId);
    // A folder's modification time changes whenever an entry is added or removed: while it stands
    // still, the last listing is still true and the 10,000-name readdir is skipped.
    const stamp = await this.store.directoryStamp(dir);
    if (last && stamp !== undefined && last.stamp === stamp) return last.keys;
    const known = this.createdOf(projectId);
    // With no time known yet (the first listing in this process) every folder needs one: the listing
    // of times is also the listing of names, and the folder is read once, not twice.
    const names =
      known.size === 0
        ? await this.learnTimes(dir, known)
        : (await this.store.list(dir))
            .filter((entry) => entry.kind === 'directory')
            .map((entry) => entry.name);
    if (last && last.names.size === names.length && names.every((name) => last.names.has(name))) {
      this.sorted.set(projectId, { ...last, stamp });
      return last.keys;
    }
    const ids = names.filter((name) => identifierProblem(name) === undefined);
    const unknown = ids.filter((id) => !known.has(id));
    if (unknown.length > FEW) {
      await this.learnTimes(dir, known);
    } else {
      for (const id of unknown) {
        const created = await this.store.createdAt([...dir, id]);
        if (created) known.set(id, new FolderKey(id, created.getTime()));
      }
    }
    const keys = ids.flatMap((id) => known.get(id) ?? []).sort(newestFirst);
    this.sorted.set(projectId, { names: new Set(names), keys, stamp });
    return keys;
  }

  /** Lists the folder's times into `known`; returns the names of its folders. */
  private async learnTimes(dir: RelPath, known: Map<string, FolderKey>): Promise<string[]> {
    const folders = await this.store.listDirectoriesCreated(dir);
    // A time already known is kept: where a file system has no birth time the store reports the mtime,
    // which moves on every save, and a listing in progress must not see a folder move.
    for (const { name, createdMs } of folders) {
      // Whole milliseconds, as a Date (and so a cursor) keeps them.
      if (!known.has(name)) known.set(name, new FolderKey(name, Math.trunc(createdMs)));
    }
    return folders.map((folder) => folder.name);
  }

  private createdOf(projectId: string): Map<string, FolderKey> {
    let known = this.created.get(projectId);
    if (known === undefined) {
      known = new Map();
      this.created.set(projectId, known);
    }
    return known;
  }

  private async summary(projectId: string, sessionId: string): Promise<SessionSummary | undefined> {
    const ref = { project_id: projectId, session_id: sessionId };
    let manifest: ManifestRecord | undefined;
    try {
      manifest = await this.store.parsed.read(manifestFile(ref), parseManifest);
    } catch (error) {
      // A link planted in place of a manifest is no session of ours: the listing goes on without it.
      if (isPlantedLink(error)) return undefined;
      if (!(error instanceof CheckpointError && error.code === 'CORRUPT_FILE')) throw error;
      manifest = (await this.files.load(ref)).manifest;
    }
    // No manifest yet: create_session is still writing it, so the session is not listed yet.
    if (manifest === undefined) return undefined;
    return {
      session_id: sessionId,
      status: manifest.status,
      execution_mode: manifest.execution_mode,
      current_phase: manifest.current_phase.phase,
      created: manifest.created,
      last_updated: manifest.last_updated,
      ...definedOnly({ next_phase: nextPhase(manifest) }),
    };
  }
}

/** Past this many new folders, one listing of the folder's times beats a look-up each. */
const FEW = 16;

/**
 * A session folder and its creation time, in the whole milliseconds `created` stands for: sorted by the
 * number, and written out only when asked for (a cursor, a comparison with one), since of 10,000
 * folders a page shows 50.
 */
class FolderKey implements SortKey {
  private text: string | undefined;

  constructor(
    readonly id: string,
    readonly createdMs: number,
  ) {}

  get created(): string {
    this.text ??= new Date(this.createdMs).toISOString();
    return this.text;
  }
}

/** compareNewestFirst on the milliseconds `created` stands for: a page ends where a cursor puts it. */
function newestFirst(a: FolderKey, b: FolderKey): number {
  if (a.createdMs !== b.createdMs) return b.createdMs - a.createdMs;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}
