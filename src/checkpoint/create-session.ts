import { parseProject, renderProject } from './formats/project.js';
import { type ManagerContext, sessionRef } from './manager-context.js';
import { CheckpointError, isCheckpointError, isPlantedLink } from './model/errors.js';
import { assertIdentifier } from './model/identifiers.js';
import { phaseDir, projectFile, type SessionRef, sessionDir } from './model/paths.js';
import { BUILT_IN_WORKFLOW, type ExecutionMode, planNums, type SessionPlan } from './model/phases.js';
import { planOf, type WorkflowDefinition } from './model/workflows.js';
import { refuseProjectTwin, refuseSessionTwin } from './session/case-twins.js';
import type { CreateSessionRequest } from './session/requests.js';
import { identityOf, type SessionIdentity } from './session/session-state.js';

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
  const type = request.workflow_type ?? BUILT_IN_WORKFLOW;
  let definition: WorkflowDefinition;
  let planned: SessionPlan;
  try {
    definition = await ctx.workflows.get(type);
    planned = planOf(definition, request.execution_mode);
  } catch (error) {
    // Asked again for a session that exists, it is answered as it is: its phases are its own, whatever
    // became of the workflow's document since (removed, edited into something unreadable, its mode gone).
    const existing = await sameSession(ctx, ref, request, type);
    if (existing) return existing;
    throw error;
  }
  const workflow = definition.workflow_type;
  await ensureProject(ctx, ref, request.user_id, planned);
  if (!(await ctx.store.exists(sessionDir(ref))))
    await refuseSessionTwin(ctx.store, ref.project_id, ref.session_id);
  await ctx.store.ensureDirectory(sessionDir(ref));
  const plan = await ctx.store.withLock(sessionDir(ref), async (lock): Promise<SessionPlan> => {
    const stored = await ctx.files.readManifestFile(ref);
    if (stored === 'unreadable') {
      throw new CheckpointError(
        'CORRUPT_FILE',
        `session "${ref.session_id}" exists in project "${ref.project_id}" but its session_manifest.md cannot be read, so its settings cannot be compared; call load_session, which rebuilds the manifest from the phase checkpoints, or validate_session for the details`,
      );
    }
    if (stored !== 'missing') {
      // A request that names no mode, repeated after the workflow was defined again, asks for the session as
      // it is: the default mode it was made with may be no longer the workflow's.
      const redefined =
        stored.workflow_revision !== undefined && stored.workflow_revision !== definition.revision;
      const asked = {
        user_id: request.user_id,
        execution_mode:
          request.execution_mode ?? (redefined ? stored.execution_mode : planned.execution_mode),
      };
      const differs = (['user_id', 'execution_mode', 'workflow_type'] as const).find(
        (key) => stored[key] !== { ...asked, workflow_type: workflow }[key],
      );
      if (differs) {
        throw new CheckpointError(
          'CONFLICT',
          `session "${ref.session_id}" already exists in project "${ref.project_id}" with ${differs} "${stored[differs]}"; call load_session to continue it, or choose another session_id`,
        );
      }
      // The session keeps the phases it began with, whatever the workflow says now.
      return identityOf(stored).plan;
    }
    for (const phase of planned.phases) await ctx.store.ensureDirectory(phaseDir(ref, phase));
    const identity: SessionIdentity = {
      ...ref,
      user_id: request.user_id,
      created: ctx.clock().toISOString(),
      plan: planned,
    };
    await ctx.files.commit(ref, lock, { identity });
    return planned;
  });
  return answerOf(ctx, ref, plan);
}

/** What create_session answers for the session of `plan`. */
function answerOf(ctx: ManagerContext, ref: SessionRef, plan: SessionPlan): CreateSessionResult {
  return {
    project_id: ref.project_id,
    session_id: ref.session_id,
    execution_mode: plan.execution_mode,
    phases: planNums(plan),
    path: ctx.store.label(sessionDir(ref)),
  };
}

/**
 * The session as it is, when it exists with these settings (the mode only if the request names one), as
 * create_session answers a repeated call; undefined otherwise.
 */
async function sameSession(
  ctx: ManagerContext,
  ref: SessionRef,
  request: CreateSessionRequest,
  type: string,
): Promise<CreateSessionResult | undefined> {
  const stored = await ctx.files.readStoredManifest(ref).catch(() => undefined);
  if (
    stored === undefined ||
    stored.user_id !== request.user_id ||
    stored.workflow_type !== type ||
    (request.execution_mode !== undefined && stored.execution_mode !== request.execution_mode)
  )
    return undefined;
  return answerOf(ctx, ref, identityOf(stored).plan);
}

/**
 * The session's project, made when there is none. An archived project starts no session: one that
 * exists already is answered as it is, a new one is CONFLICT before anything is made.
 */
async function ensureProject(
  ctx: ManagerContext,
  ref: SessionRef,
  userId: string,
  plan: SessionPlan,
): Promise<void> {
  const projectId = ref.project_id;
  if (await ctx.store.exists(projectFile(projectId))) {
    if ((await projectStatus(ctx, projectId)) === 'archived' && !(await ctx.store.exists(sessionDir(ref)))) {
      throw new CheckpointError(
        'CONFLICT',
        `project "${projectId}" is archived; no new session can start in it. Call create_project for a new one, or list_sessions for the sessions it has`,
      );
    }
    return;
  }
  await refuseProjectTwin(ctx.store, projectId);
  await ctx.store.ensureDirectory([projectId]);
  await ctx.store.withLock([projectId], async (lock) => {
    if (await ctx.store.exists(projectFile(projectId))) return;
    const now = ctx.clock().toISOString();
    const project = {
      project_id: projectId,
      project_name: projectId,
      user_id: userId,
      workflow_type: plan.workflow_type,
      execution_mode: plan.execution_mode,
      status: 'active' as const,
      created: now,
      updated: now,
      startup_idea: '',
    };
    await ctx.store.write(projectFile(projectId), renderProject(project), { lock });
  });
}

/** The project's status, when its file can be read (one edited into something else does not stop a session). */
async function projectStatus(ctx: ManagerContext, projectId: string): Promise<string | undefined> {
  try {
    return (await ctx.store.parsed.read(projectFile(projectId), parseProject))?.status;
  } catch (error) {
    if (isCheckpointError(error) && error.code === 'CORRUPT_FILE' && !isPlantedLink(error)) return undefined;
    throw error;
  }
}
