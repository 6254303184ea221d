export const PHASE_STATUSES = [
  'pending',
  'in_progress',
  'completed',
  'failed',
  'skipped',
  'requires_retry',
] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

export const AGENT_STATUSES = ['pending', 'in_progress', 'completed', 'failed', 'skipped'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

export const PHASE_EXECUTION_MODES = ['single', 'parallel', 'sequential_interactive'] as const;
export type PhaseExecutionMode = (typeof PHASE_EXECUTION_MODES)[number];

export const FEEDBACK_ACTIONS = ['approved', 'retry_with_changes', 'skip_phase'] as const;
export type FeedbackAction = (typeof FEEDBACK_ACTIONS)[number];

export const SESSION_STATUSES = ['in_progress', 'completed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

/** A phase that needs no more work. */
export function isPhaseDone(status: PhaseStatus): boolean {
  return status === 'completed' || status === 'skipped';
}
