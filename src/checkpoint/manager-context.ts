import { assertIdentifier } from './model/identifiers.js';
import type { Clock, Limits } from './model/limits.js';
import type { SessionRef } from './model/paths.js';
import type { SessionPlan } from './model/phases.js';
import type { PhaseStatus } from './model/vocabulary.js';
import type { SessionFiles } from './session/session-files.js';
import type { WorkflowRegistry } from './session/workflow-registry.js';
import type { Engine } from './store/engine.js';

/** What the operations of a manager share: the engine, the clock, the limits and the session files. */
export interface ManagerContext {
  readonly store: Engine;
  readonly clock: Clock;
  readonly limits: Limits;
  readonly files: SessionFiles;
  readonly workflows: WorkflowRegistry;
  /** The session's phases as it began with them; NOT_FOUND without a session. */
  planOf(ref: SessionRef): Promise<SessionPlan>;
}

/** The two ids of a session, checked; anything else on the request is left behind. */
export function sessionRef(ref: SessionRef): SessionRef {
  assertIdentifier('project_id', ref.project_id);
  assertIdentifier('session_id', ref.session_id);
  return { project_id: ref.project_id, session_id: ref.session_id };
}

/** A status that ends an attempt: it gets a Completed time. */
export function isTerminal(status: PhaseStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'skipped';
}
