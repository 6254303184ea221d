import { definedOnly } from './define.js';
import { CheckpointError } from './errors.js';
import { type ManifestRecord, parseManifest } from './formats/manifest.js';
import { identifierProblem } from './identifiers.js';
import { compareNewestFirst, pageOf } from './paging.js';
import { manifestFile, projectFile, sessionsDir } from './paths.js';
import type { ExecutionMode } from './phases.js';
import type { ListSessionsRequest } from './requests.js';
import type { SessionFiles } from './session-files.js';
import { nextPhase } from './session-state.js';
import type { Store } from './store.js';
import type { SessionStatus } from './vocabulary.js';

export interface SessionSummary {
  session_id: string;
  status: SessionStatus;
  execution_mode: ExecutionMode;
  current_phase: number;
  next_phase?: number;
  created: string;
  last_updated: string;
}

interface Cached {
  modifiedMs: number;
  summary: SessionSummary;
}

/**
 * Lists sessions from their manifests only, never from agent outputs. A session's creation time never
 * changes, so it is remembered: a page reads and parses only the manifests it returns (if changed).
 */
export class SessionLister {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly store: Store,
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
    const ids = (await this.store.list(sessionsDir(projectId)))
      .filter((entry) => entry.kind === 'directory' && identifierProblem(entry.name) === undefined)
      .map((entry) => entry.name);
    const keys: Array<{ id: string; created: string }> = [];
    for (const id of ids) {
      const cached = this.cache.get(`${projectId}/${id}`);
      const summary = cached && !request.status ? cached.summary : await this.summary(projectId, id);
      if (summary && (!request.status || summary.status === request.status))
        keys.push({ id, created: summary.created });
    }
    keys.sort(compareNewestFirst);
    const { page, next_cursor } = pageOf(keys, request.limit, request.cursor);
    const sessions: SessionSummary[] = [];
    for (const key of page) {
      const summary = await this.summary(projectId, key.id);
      if (summary) sessions.push(summary);
    }
    return { sessions, ...definedOnly({ next_cursor }) };
  }

  /** The session's summary from its manifest, re-read only when the file changed. */
  private async summary(projectId: string, sessionId: string): Promise<SessionSummary | undefined> {
    const ref = { project_id: projectId, session_id: sessionId };
    const rel = manifestFile(ref);
    const key = `${projectId}/${sessionId}`;
    const modifiedMs = await this.store.modifiedMs(rel);
    const cached = this.cache.get(key);
    if (cached && modifiedMs !== undefined && cached.modifiedMs === modifiedMs) return cached.summary;
    let manifest: ManifestRecord;
    const text = await this.store.read(rel);
    // No manifest yet: create_session is still writing it, so the session is not listed yet.
    if (text === undefined) return undefined;
    try {
      manifest = parseManifest(text, this.store.label(rel));
    } catch (error) {
      if (!(error instanceof CheckpointError && error.code === 'CORRUPT_FILE')) throw error;
      manifest = (await this.files.load(ref)).manifest;
    }
    const summary: SessionSummary = {
      session_id: sessionId,
      status: manifest.status,
      execution_mode: manifest.execution_mode,
      current_phase: manifest.current_phase.phase,
      created: manifest.created,
      last_updated: manifest.last_updated,
      ...definedOnly({ next_phase: nextPhase(manifest) }),
    };
    this.cache.set(key, { modifiedMs: (await this.store.modifiedMs(rel)) ?? 0, summary });
    return summary;
  }
}
