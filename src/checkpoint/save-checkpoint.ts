import {
  type AgentEntry,
  type CheckpointRecord,
  renderCheckpoint,
  storedAgent,
} from './formats/checkpoint.js';
import { isTerminal, type ManagerContext, sessionRef } from './manager-context.js';
import type { DecimalText } from './model/decimal.js';
import { definedOnly } from './model/define.js';
import { checkpointFile } from './model/paths.js';
import { nextPhaseOf, type PhaseDefinition, phaseIn, type SessionPlan } from './model/phases.js';
import type { PhaseStatus } from './model/vocabulary.js';
import { recordedStart } from './session/phase-times.js';
import { validateCheckpointRequest } from './session/request-checks.js';
import type { SaveCheckpointRequest } from './session/requests.js';
import { assertMetricsFit, blankCheckpoint, sessionMetrics } from './session/session-state.js';

/** checkpoint.md of a phase, then the manifest, under the session's serialisation. */
export async function saveCheckpoint(
  ctx: ManagerContext,
  request: SaveCheckpointRequest,
): Promise<{ phase_num: number; status: PhaseStatus; revision: number }> {
  const ref = sessionRef(request);
  const checked = validateCheckpointRequest(request, ctx.limits);
  return ctx.files.withSessionLock(ref, async (lock) => {
    const { plan, stored } = await ctx.files.manifestUnderLock(ref);
    const phase = phaseIn(plan, request.phase_num);
    // Everything the manifest is rebuilt from is read before the write, so a save that cannot end in a
    // true manifest (another phase unreadable, sums too large) fails with nothing written. This phase's
    // file is being replaced: an unreadable old version is kept in history/, not carried over.
    const checkpoints = await ctx.files.readCheckpoints(ref, plan, phase.num);
    const replacesStale = ctx.files.manifestStale(stored, checkpoints);
    const previous = checkpoints.get(phase.num);
    const started = await phaseStart(ctx, request, phase, previous);
    const checkpoint = buildCheckpoint(ctx, request, checked, phase, plan, previous, started);
    assertMetricsFit(sessionMetrics(checkpoints.set(phase.num, checkpoint), plan));
    const written = {
      rel: checkpointFile(ref, phase),
      content: renderCheckpoint(checkpoint),
      // A phase folder deleted by hand is made again.
      options: { keepHistory: true, createFolder: true, lock, parsed: checkpoint, batched: true },
    };
    // The checkpoints were read under this lock and the one changed is the one written with the
    // manifest: checkpoint.md is in place before the manifest is, as if written first.
    const known = { checkpoints, replacesStale, ...(stored && { stored }) };
    const { manifest } = await ctx.files.commit(ref, lock, known, [written]);
    return { phase_num: phase.num, status: checkpoint.status, revision: manifest.revision };
  });
}

/**
 * When the phase began, when the request does not say: the start kept from the attempt under way,
 * else the earliest start recorded by its agents' outputs, else now for a phase that begins with
 * this save. A phase reported finished with nothing recorded before has no known start.
 */
async function phaseStart(
  ctx: ManagerContext,
  request: SaveCheckpointRequest,
  phase: PhaseDefinition,
  previous: CheckpointRecord | undefined,
): Promise<string | undefined> {
  if (request.started !== undefined) return request.started;
  // A rerun after a failure or a review asking for changes is a new attempt with a start of its own.
  const rerun =
    previous !== undefined &&
    (previous.status === 'failed' || previous.status === 'requires_retry') &&
    request.status !== previous.status;
  if (previous?.started !== undefined && !rerun) return previous.started;
  const recorded = await recordedStart(
    ctx.store,
    request,
    phase,
    request.agents,
    rerun ? previous?.updated : undefined,
  );
  if (recorded !== undefined || request.status === 'pending' || isTerminal(request.status)) return recorded;
  return ctx.clock().toISOString();
}

function buildCheckpoint(
  ctx: ManagerContext,
  request: SaveCheckpointRequest,
  checked: { errors: string[]; costs: Array<DecimalText | undefined> },
  phase: PhaseDefinition,
  plan: SessionPlan,
  previous: CheckpointRecord | undefined,
  started: string | undefined,
): CheckpointRecord {
  const now = ctx.clock().toISOString();
  // Saving the same finished status again keeps the time it finished.
  const finishedBefore = previous?.status === request.status ? previous.completed : undefined;
  const completed = request.completed ?? (isTerminal(request.status) ? (finishedBefore ?? now) : undefined);
  const duration =
    request.duration ??
    (started !== undefined && completed !== undefined
      ? Math.max(0, (Date.parse(completed) - Date.parse(started)) / 1000)
      : undefined);
  const next = nextPhaseOf(plan, phase.num);
  return {
    phase_num: phase.num,
    phase_name: phase.name,
    status: request.status,
    retry_count: request.retry_count ?? previous?.retry_count ?? 0,
    execution_mode: request.execution_mode ?? 'single',
    updated: now,
    agents: request.agents.map((agent, i) =>
      storedAgent({
        agent_name: agent.agent_name,
        status: agent.status,
        ...definedOnly({ ...agentNumbers(agent), cost: checked.costs[i] }),
      }),
    ),
    errors: checked.errors,
    ...definedOnly({ started, completed, duration, next_phase: next?.num, next_phase_name: next?.name }),
  };
}

export function emptyCheckpoint(
  ctx: ManagerContext,
  phase: PhaseDefinition,
  plan: SessionPlan,
): CheckpointRecord {
  return blankCheckpoint(phase, nextPhaseOf(plan, phase.num), ctx.clock().toISOString());
}

function agentNumbers(agent: SaveCheckpointRequest['agents'][number]): Partial<Omit<AgentEntry, 'cost'>> {
  return {
    // The default file name is left out, as parsing the checkpoint would leave it out.
    output_file: agent.output_file === `${agent.agent_name}.md` ? undefined : agent.output_file,
    tokens: agent.tokens,
    input_tokens: agent.input_tokens,
    output_tokens: agent.output_tokens,
    duration: agent.duration,
  };
}
