import type { ManifestRecord } from '../formats/manifest.js';
import { decimalNumber } from '../model/decimal.js';
import type { ExecutionMode, WorkflowType } from '../model/phases.js';
import type { PhaseStatus, SessionStatus } from '../model/vocabulary.js';
import { completedPhases, nextPhase } from './session-state.js';

export interface SessionState {
  session_id: string;
  project_id: string;
  user_id: string;
  workflow_type: WorkflowType;
  execution_mode: ExecutionMode;
  created: string;
  last_updated: string;
  status: SessionStatus;
  current_phase: number;
  completed_phases: number[];
  phase_statuses: Record<string, PhaseStatus>;
  next_phase?: number;
  can_resume: boolean;
  metrics: { total_duration: number; total_tokens: number; total_cost: number };
  revision: number;
}

/** What load_session answers, read off a manifest that agrees with its checkpoints. */
export function sessionState(manifest: ManifestRecord): SessionState {
  const next = nextPhase(manifest);
  return {
    session_id: manifest.session_id,
    project_id: manifest.project_id,
    user_id: manifest.user_id,
    workflow_type: manifest.workflow_type,
    execution_mode: manifest.execution_mode,
    created: manifest.created,
    last_updated: manifest.last_updated,
    status: manifest.status,
    current_phase: manifest.current_phase.phase,
    completed_phases: completedPhases(manifest),
    phase_statuses: Object.fromEntries(manifest.phases.map((row) => [String(row.phase_num), row.status])),
    ...(next === undefined ? {} : { next_phase: next }),
    can_resume: manifest.status !== 'completed',
    metrics: { ...manifest.metrics, total_cost: decimalNumber(manifest.metrics.total_cost) },
    revision: manifest.revision,
  };
}
