import { type CheckpointRecord, checkpointMetrics } from '../formats/checkpoint.js';
import type { ManifestRecord, PhaseRow } from '../formats/manifest.js';
import { decimalNumber, decimalOf, sumDecimals } from '../model/decimal.js';
import { definedOnly } from '../model/define.js';
import { CheckpointError } from '../model/errors.js';
import { BUILT_IN_WORKFLOW, PHASES, type PhaseDefinition, type SessionPlan } from '../model/phases.js';
import { isPhaseDone } from '../model/vocabulary.js';

export interface SessionIdentity {
  session_id: string;
  project_id: string;
  user_id: string;
  created: string;
  /** The session's phases, as they were when it began. */
  plan: SessionPlan;
}

/** Who and what a stored manifest says the session is. */
export function identityOf(manifest: ManifestRecord): SessionIdentity {
  return {
    session_id: manifest.session_id,
    project_id: manifest.project_id,
    user_id: manifest.user_id,
    created: manifest.created,
    plan: planOfManifest(manifest),
  };
}

/** The phases a manifest lists: its rows, with their folders (the built-in ones where it writes none). */
export function planOfManifest(manifest: ManifestRecord): SessionPlan {
  const phases = manifest.phases.map((row): PhaseDefinition => {
    const builtIn = PHASES.find((phase) => phase.num === row.phase_num);
    const dir = row.dir ?? (manifest.workflow_type === BUILT_IN_WORKFLOW ? builtIn?.dir : undefined);
    return { num: row.phase_num, name: row.name, dir: dir ?? `phase_${row.phase_num}` };
  });
  return {
    workflow_type: manifest.workflow_type,
    ...(manifest.workflow_revision === undefined ? {} : { workflow_revision: manifest.workflow_revision }),
    execution_mode: manifest.execution_mode,
    phases,
  };
}

/** The manifest is a view: everything but identity, time and revision comes from the checkpoints. */
export function buildManifest(
  identity: SessionIdentity,
  checkpoints: ReadonlyMap<number, CheckpointRecord>,
  revision: number,
  now: string,
): ManifestRecord {
  const { plan } = identity;
  const builtIn = plan.workflow_type === BUILT_IN_WORKFLOW;
  const phases = plan.phases.map((phase): PhaseRow => {
    const checkpoint = checkpoints.get(phase.num);
    const row: PhaseRow = {
      phase_num: phase.num,
      name: phase.name,
      ...(builtIn ? {} : { dir: phase.dir }),
      status: checkpoint?.status ?? 'pending',
    };
    if (checkpoint?.started !== undefined) row.started = checkpoint.started;
    if (checkpoint?.completed !== undefined) row.completed = checkpoint.completed;
    if (checkpoint?.duration !== undefined) row.duration = checkpoint.duration;
    return row;
  });
  const done = phases.every((row) => isPhaseDone(row.status));
  const latest = latestCheckpoint(checkpoints, plan);
  const metrics = sessionMetrics(checkpoints, plan);
  return {
    session_id: identity.session_id,
    project_id: identity.project_id,
    user_id: identity.user_id,
    workflow_type: plan.workflow_type,
    ...(plan.workflow_revision === undefined ? {} : { workflow_revision: plan.workflow_revision }),
    execution_mode: plan.execution_mode,
    created: identity.created,
    last_updated: now,
    status: done ? 'completed' : 'in_progress',
    revision,
    phases,
    current_phase: latest
      ? {
          phase: latest.phase_num,
          name: plan.phases.find((phase) => phase.num === latest.phase_num)?.name ?? latest.phase_name,
          status: latest.status,
          can_resume: !done,
        }
      : { phase: 0, name: 'Not Started', status: 'pending', can_resume: !done },
    metrics,
  };
}

/** The session's sums over the phases of its mode, in exact decimal arithmetic. */
export function sessionMetrics(
  checkpoints: ReadonlyMap<number, CheckpointRecord>,
  plan: SessionPlan,
): ManifestRecord['metrics'] {
  const durations: string[] = [];
  const costs: string[] = [];
  let tokens = 0;
  for (const { num } of plan.phases) {
    const checkpoint = checkpoints.get(num);
    if (!checkpoint) continue;
    const phase = checkpointMetrics(checkpoint);
    if (checkpoint.duration !== undefined) durations.push(decimalOf(checkpoint.duration));
    tokens += phase.total_tokens;
    costs.push(phase.cost);
  }
  return {
    total_duration: decimalNumber(sumDecimals(durations)),
    total_tokens: tokens,
    total_cost: sumDecimals(costs),
  };
}

/**
 * LIMIT_EXCEEDED when a sum could not be written to the manifest and read back: tokens past 2^53 - 1
 * lose their last digits, and cost or duration past the largest number become Infinity.
 */
export function assertMetricsFit(metrics: ManifestRecord['metrics']): void {
  // Tokens and cost add up the agents' numbers; the duration, each phase's own (the checkpoint's duration).
  const problem = !Number.isSafeInteger(metrics.total_tokens)
    ? `total tokens of the session (${metrics.total_tokens}) are over ${Number.MAX_SAFE_INTEGER}; check the tokens of this checkpoint's agents`
    : !Number.isFinite(decimalNumber(metrics.total_cost))
      ? "total cost of the session is not a finite number; check the cost of this checkpoint's agents"
      : !Number.isFinite(metrics.total_duration)
        ? "total duration of the session (the phases' durations added up) is not a finite number; check this checkpoint's duration"
        : undefined;
  if (problem) throw new CheckpointError('LIMIT_EXCEEDED', problem);
}

/** The phase checkpointed last, by its Updated time; a later phase wins a tie. */
function latestCheckpoint(
  checkpoints: ReadonlyMap<number, CheckpointRecord>,
  plan: SessionPlan,
): CheckpointRecord | undefined {
  let latest: CheckpointRecord | undefined;
  for (const { num } of plan.phases) {
    const checkpoint = checkpoints.get(num);
    if (!checkpoint) continue;
    if (!latest || Date.parse(checkpoint.updated) >= Date.parse(latest.updated)) latest = checkpoint;
  }
  return latest;
}

export function nextPhase(manifest: Pick<ManifestRecord, 'phases'>): number | undefined {
  return manifest.phases.find((row) => !isPhaseDone(row.status))?.phase_num;
}

export function completedPhases(manifest: Pick<ManifestRecord, 'phases'>): number[] {
  return manifest.phases.filter((row) => row.status === 'completed').map((row) => row.phase_num);
}

/** Whether a stored manifest says what its checkpoints say (identity, time and revision aside). */
export function manifestAgrees(stored: ManifestRecord, derived: ManifestRecord): boolean {
  const view = (m: ManifestRecord) =>
    JSON.stringify([m.status, m.phases, m.current_phase, m.metrics, m.execution_mode]);
  return view(stored) === view(derived);
}

/** A phase's checkpoint before anything was recorded in it: pending, no agents, `updated` as given. */
export function blankCheckpoint(
  phase: PhaseDefinition,
  next: PhaseDefinition | undefined,
  updated: string,
): CheckpointRecord {
  return {
    phase_num: phase.num,
    phase_name: phase.name,
    status: 'pending',
    retry_count: 0,
    execution_mode: 'single',
    updated,
    agents: [],
    errors: [],
    ...definedOnly({ next_phase: next?.num, next_phase_name: next?.name }),
  };
}
