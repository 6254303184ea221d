import { type CreateSessionResult, createSession } from './create-session.js';
import { type ManagerContext, sessionRef } from './manager-context.js';
import { encodedSize, sliceEnd } from './model/budget.js';
import { assertIdentifier } from './model/identifiers.js';
import { type Clock, DEFAULT_LIMITS, type Limits, systemClock } from './model/limits.js';
import { phaseDir, type SessionRef, sessionDir } from './model/paths.js';
import { type PhaseDefinition, phaseIn, type SessionPlan } from './model/phases.js';
import type { FeedbackAction, PhaseStatus } from './model/vocabulary.js';
import {
  type AgentOutputPage,
  getAgentOutput,
  getPhaseOutputs,
  type HistoryEntry,
  listHistory,
  type PhaseOutputs,
} from './operations/phase-outputs.js';
import { exportSession } from './operations/report.js';
import { planResume, type ResumePlan } from './operations/resume.js';
import { resumePrompt, reviewPrompt } from './operations/session-prompts.js';
import {
  type SessionValidationReport,
  type ValidationReport,
  validatePhase,
  validateSession,
} from './operations/validation.js';
import { saveCheckpoint } from './save-checkpoint.js';
import { getApprovedPhases, saveUserFeedback } from './save-feedback.js';
import { saveAgentOutput } from './save-output.js';
import { assertPageLimit, validateOutputPage } from './session/request-checks.js';
import type {
  CreateSessionRequest,
  GetAgentOutputRequest,
  GetPhaseOutputsRequest,
  ListSessionsRequest,
  PhaseRef,
  SaveAgentOutputRequest,
  SaveCheckpointRequest,
  SaveUserFeedbackRequest,
} from './session/requests.js';
import { SessionFiles, type SessionSnapshot } from './session/session-files.js';
import { SessionLister, type SessionSummary } from './session/session-list.js';
import { type SessionState, sessionState } from './session/session-view.js';
import { WorkflowRegistry } from './session/workflow-registry.js';
import type { Engine } from './store/engine.js';

export type { CreateSessionResult };
export { sessionRef };

type SweepOutcome = { removed: string[] } | { error: unknown };

/**
 * Sessions, checkpoints, agent outputs and reviews of one store: the operations agents call, one
 * module per group of tools (create-session, save-checkpoint, save-output, save-feedback), the
 * read side in operations/.
 */
export class CheckpointManager implements ManagerContext {
  readonly files: SessionFiles;
  readonly workflows: WorkflowRegistry;
  private readonly lister: SessionLister;
  private readonly swept = new Set<string>();
  private readonly sweeping = new Set<Promise<SweepOutcome>>();

  constructor(
    readonly store: Engine,
    readonly clock: Clock = systemClock,
    readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    this.files = new SessionFiles(store, clock);
    this.workflows = new WorkflowRegistry(store);
    this.lister = new SessionLister(store, this.files);
  }

  createSession(request: CreateSessionRequest): Promise<CreateSessionResult> {
    return createSession(this, request);
  }

  saveCheckpoint(
    request: SaveCheckpointRequest,
  ): Promise<{ phase_num: number; status: PhaseStatus; revision: number }> {
    return saveCheckpoint(this, request);
  }

  saveAgentOutput(
    request: SaveAgentOutputRequest,
  ): Promise<{ phase_num: number; agent_name: string; file: string; sha256: string }> {
    return saveAgentOutput(this, request);
  }

  saveUserFeedback(
    request: SaveUserFeedbackRequest,
  ): Promise<{ phase_num: number; action: FeedbackAction; phase_status: PhaseStatus }> {
    return saveUserFeedback(this, request);
  }

  getApprovedPhases(ref: SessionRef): Promise<{ phases: number[] }> {
    return getApprovedPhases(this, ref);
  }

  async loadSession(ref: SessionRef): Promise<SessionState> {
    const snapshot = await this.reading(ref, () => this.files.load(ref));
    this.sweepOnce(ref);
    return sessionState(snapshot.manifest);
  }

  /**
   * Orphans come from a writer that died: once per session in this process is enough to clear them.
   * Nothing an answer holds depends on them (an orphan is never read, a lock leftover never blocks a
   * lock), so the sweep, which reads every folder of the session, begins once the answer is on its way:
   * the first load_session of a fresh process does not wait for it. One that fails is tried again
   * by the next load.
   */
  private sweepOnce(ref: SessionRef): void {
    const key = `${ref.project_id}/${ref.session_id}`;
    if (this.swept.has(key)) return;
    this.swept.add(key);
    const sweep: Promise<SweepOutcome> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.store.removeOrphans(sessionDir(ref), 2))
      .then(
        (removed) => ({ removed }),
        (error: unknown) => {
          this.swept.delete(key);
          return { error };
        },
      )
      .finally(() => this.sweeping.delete(sweep));
    this.sweeping.add(sweep);
  }

  /** Waits for the orphan sweeps under way; what they removed, or the first one's failure, thrown. */
  async orphanSweeps(): Promise<string[]> {
    const outcomes = await Promise.all(this.sweeping);
    const failed = outcomes.find((outcome) => 'error' in outcome);
    if (failed) throw failed.error;
    return outcomes.flatMap((outcome) => ('removed' in outcome ? outcome.removed : []));
  }

  async getPhaseOutputs(request: GetPhaseOutputsRequest): Promise<PhaseOutputs> {
    sessionRef(request);
    return getPhaseOutputs(this.store, this.files, this.limits, request);
  }

  async getAgentOutput(request: GetAgentOutputRequest): Promise<AgentOutputPage> {
    assertIdentifier('agent_name', request.agent_name);
    validateOutputPage(request);
    const phase = await this.phaseOf(request);
    return getAgentOutput(this.store, this.files, this.limits, request, phase.num);
  }

  async listHistory(request: PhaseRef): Promise<{ versions: HistoryEntry[] }> {
    return this.reading(request, async () => {
      const phase = await this.phaseOf(request);
      return listHistory(this.store, phaseDir(request, phase));
    });
  }

  async validateCheckpoint(request: PhaseRef): Promise<ValidationReport> {
    const phase = await this.phaseOf(request);
    const manifest = await this.files.readStoredManifest(request);
    return validatePhase(this.store, request, phase, manifest, { required: true });
  }

  async validateSession(ref: SessionRef): Promise<SessionValidationReport> {
    return validateSession(this.store, this.files, sessionRef(ref));
  }

  async listSessions(
    request: ListSessionsRequest,
  ): Promise<{ sessions: SessionSummary[]; next_cursor?: string }> {
    assertIdentifier('project_id', request.project_id);
    assertPageLimit(request.limit);
    return this.lister.list(request);
  }

  async resumeSession(ref: SessionRef): Promise<ResumePlan> {
    return planResume(this.store, this.files, sessionRef(ref));
  }

  /** The resume_session prompt's text, within the prompt budget. */
  async resumePrompt(ref: SessionRef): Promise<string> {
    return resumePrompt(this.store, this.files, this.limits, sessionRef(ref));
  }

  /** The review_phase prompt's text, within the prompt budget. */
  async reviewPrompt(request: PhaseRef): Promise<string> {
    const phase = await this.phaseOf(request);
    return reviewPrompt(this.store, this.files, this.limits, sessionRef(request), phase);
  }

  /** The report, cut to the response budget with a note saying where the rest is (its reviews can be 1 MiB each). */
  async exportSession(ref: SessionRef): Promise<{ markdown: string }> {
    const checked = sessionRef(ref);
    const markdown = await exportSession(this.store, this.files, checked);
    const budget = this.limits.maxResponseBytes;
    if (encodedSize(markdown) <= budget) return { markdown };
    const note = (cut: number) =>
      `\n\n[Cut to fit the response budget: ${cut} of ${markdown.length} characters. Every checkpoint, review and output is a file under ${this.store.label(sessionDir(checked))}: read them as resources, or an output with get_agent_output]`;
    // The note's own size, with the widest numbers it can hold, comes off the budget first.
    const room = Math.max(1, budget - encodedSize(note(markdown.length)));
    const cut = sliceEnd(markdown, 0, markdown.length, room);
    return { markdown: `${markdown.slice(0, cut)}${note(cut)}` };
  }

  /** The session's phases, from its manifest or, if that is lost, from what is on disk; NOT_FOUND without a session. */
  planOf(ref: SessionRef): Promise<SessionPlan> {
    return this.files.planOf(ref);
  }

  async snapshot(ref: SessionRef): Promise<SessionSnapshot> {
    return this.reading(ref, () => this.files.load(ref));
  }

  /**
   * `action`, a read of the session `ref` names (checked first), as one operation of the store: the
   * folders on the way to its documents are checked once for the whole call (see Engine.within), as a
   * save's are. Only for reads of the session's own small documents (manifest, checkpoints, reviews,
   * the history listing), which end within milliseconds as a save does: a folder swapped for a link
   * during the call is not looked at again until it ends, so a read of agent outputs, which can be
   * 50 MB each, checks each document's way as it goes.
   */
  private reading<T>(ref: SessionRef, action: () => Promise<T>): Promise<T> {
    return this.store.within(sessionDir(sessionRef(ref)), action);
  }

  /** Throws PHASE_NOT_IN_MODE or NOT_FOUND before any read of a phase. */
  async phaseOf(request: PhaseRef): Promise<PhaseDefinition> {
    return phaseIn(await this.planOf(sessionRef(request)), request.phase_num);
  }
}
