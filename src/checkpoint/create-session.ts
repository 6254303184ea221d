import { renderProject } from './formats/project.js';
import { type ManagerContext, sessionRef } from './manager-context.js';
import { CheckpointError } from './model/errors.js';
import { assertIdentifier } from './model/identifiers.js';
import { phaseDir, projectFile, sessionDir } from './model/paths.js';
import { type ExecutionMode, phaseDefinition, phasesOfMode } from './model/phases.js';
import type { CreateSessionRequest } from './session/requests.js';
import type { SessionIdentity } from './session/session-state.js';

export interface CreateSessionResult {
  project_id: string;
  session_id: string;
  execution_mode: ExecutionMode;
  phases: number[];
  path: string;
}

/**
 * A session's folder, its mode's phase folders and its manifest (and the project, when new). Asked
 * again with the same settings it answers the session as it is; with others, CONFLICT.
 */
export async function createSession(
  ctx: ManagerContext,
  request: CreateSessionRequest,
): Promise<CreateSessionResult> {
  const ref = sessionRef(request);
  assertIdentifier('user_id', request.user_id);
  const mode = request.execution_mode ?? 'mvp';
  const workflow = request.workflow_type ?? 'idea_validation';
  await ensureProject(ctx, ref.project_id, request.user_id, mode);
  await ctx.store.ensureDirectory(sessionDir(ref));
  await ctx.store.withLock(sessionDir(ref), async (lock) => {
    const stored = await ctx.files.readManifestFile(ref);
    if (stored === 'unreadable') {
      throw new CheckpointError(
        'CORRUPT_FILE',
        `session "${ref.session_id}" exists in project "${ref.project_id}" but its session_manifest.md cannot be read, so its settings cannot be compared; call load_session, which rebuilds the manifest from the phase checkpoints, or validate_session for the details`,
      );
    }
    if (stored !== 'missing') {
      const differs = (['user_id', 'execution_mode', 'workflow_type'] as const).find(
        (key) =>
          stored[key] !== { user_id: request.user_id, execution_mode: mode, workflow_type: workflow }[key],
      );
      if (differs) {
        throw new CheckpointError(
          'CONFLICT',
          `session "${ref.session_id}" already exists in project "${ref.project_id}" with ${differs} "${stored[differs]}"; call load_session to continue it, or choose another session_id`,
        );
      }
      return;
    }
    for (const num of phasesOfMode(mode))
      await ctx.store.ensureDirectory(phaseDir(ref, phaseDefinition(num)));
    const identity: SessionIdentity = {
      ...ref,
      user_id: request.user_id,
      workflow_type: workflow,
      execution_mode: mode,
      created: ctx.clock().toISOString(),
    };
    await ctx.files.commit(ref, lock, identity);
  });
  return {
    project_id: ref.project_id,
    session_id: ref.session_id,
    execution_mode: mode,
    phases: [...phasesOfMode(mode)],
    path: ctx.store.label(sessionDir(ref)),
  };
}

async function ensureProject(
  ctx: ManagerContext,
  projectId: string,
  userId: string,
  mode: ExecutionMode,
): Promise<void> {
  if (await ctx.store.exists(projectFile(projectId))) return;
  await ctx.store.ensureDirectory([projectId]);
  await ctx.store.withLock([projectId], async (lock) => {
    if (await ctx.store.exists(projectFile(projectId))) return;
    const now = ctx.clock().toISOString();
    const project = {
      project_id: projectId,
      project_name: projectId,
      user_id: userId,
      execution_mode: mode,
      status: 'active' as const,
      created: now,
      updated: now,
      startup_idea: '',
    };
    await ctx.store.write(projectFile(projectId), renderProject(project), { lock });
  });
}
