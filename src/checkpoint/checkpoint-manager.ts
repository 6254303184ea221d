import { createHash } from 'node:crypto';
import type { DecimalText } from './decimal.js';
import { definedOnly } from './define.js';
import { CheckpointError } from './errors.js';
import { renderAgentOutput } from './formats/agent-output.js';
import {
  type AgentEntry,
  type CheckpointRecord,
  renderCheckpoint,
  storedAgent,
} from './formats/checkpoint.js';
import { renderProject } from './formats/project.js';
import { parseUserFeedback, renderUserFeedback } from './formats/user-feedback.js';
import { assertIdentifier } from './identifiers.js';
import { type Clock, DEFAULT_LIMITS, type Limits, systemClock } from './limits.js';
import {
  agentFile,
  checkpointFile,
  feedbackFile,
  phaseDir,
  projectFile,
  type SessionRef,
  sessionDir,
} from './paths.js';
import {
  type AgentOutputPage,
  getAgentOutput,
  getPhaseOutputs,
  type HistoryEntry,
  listHistory,
  type PhaseOutputs,
} from './phase-outputs.js';
import { recordedStart } from './phase-times.js';
import {
  type ExecutionMode,
  nextPhaseOfMode,
  type PhaseDefinition,
  phaseDefinition,
  phaseInMode,
  phasesOfMode,
} from './phases.js';
import { exportSession } from './report.js';
import {
  assertPageLimit,
  validateAgentOutput,
  validateCheckpointRequest,
  validateFeedback,
  validateOutputPage,
} from './request-checks.js';
import type {
  CreateSessionRequest,
  GetAgentOutputRequest,
  GetPhaseOutputsRequest,
  ListSessionsRequest,
  PhaseRef,
  SaveAgentOutputRequest,
  SaveCheckpointRequest,
  SaveUserFeedbackRequest,
} from './requests.js';
import { planResume, type ResumePlan } from './resume.js';
import { statusOfAction } from './review-override.js';
import { SessionFiles, type SessionSnapshot } from './session-files.js';
import { SessionLister, type SessionSummary } from './session-list.js';
import { resumePrompt, reviewPrompt } from './session-prompts.js';
import { assertMetricsFit, type SessionIdentity, sessionMetrics } from './session-state.js';
import { type SessionState, sessionState } from './session-view.js';
import type { Store } from './store.js';
import {
  type SessionValidationReport,
  type ValidationReport,
  validatePhase,
  validateSession,
} from './validation.js';
import type { FeedbackAction, PhaseStatus } from './vocabulary.js';

export interface CreateSessionResult {
  project_id: string;
  session_id: string;
  execution_mode: ExecutionMode;
  phases: number[];
  path: string;
}

/** Sessions, checkpoints, agent outputs and reviews of one base directory. */
export class CheckpointManager {
  readonly files: SessionFiles;
  private readonly lister: SessionLister;
  private readonly swept = new Set<string>();

  constructor(
    readonly store: Store,
    readonly clock: Clock = systemClock,
    readonly limits: Limits = DEFAULT_LIMITS,
  ) {
    this.files = new SessionFiles(store, clock);
    this.lister = new SessionLister(store, this.files);
  }

  async createSession(request: CreateSessionRequest): Promise<CreateSessionResult> {
    const ref = sessionRef(request);
    assertIdentifier('user_id', request.user_id);
    const mode = request.execution_mode ?? 'mvp';
    const workflow = request.workflow_type ?? 'idea_validation';
    await this.ensureProject(ref.project_id, request.user_id, mode);
    await this.store.ensureDirectory(sessionDir(ref));
    await this.store.withLock(sessionDir(ref), async (lock) => {
      const stored = await this.files.readManifestFile(ref);
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
        await this.store.ensureDirectory(phaseDir(ref, phaseDefinition(num)));
      const identity: SessionIdentity = {
        ...ref,
        user_id: request.user_id,
        workflow_type: workflow,
        execution_mode: mode,
        created: this.clock().toISOString(),
      };
      await this.files.commit(ref, lock, identity);
    });
    return {
      project_id: ref.project_id,
      session_id: ref.session_id,
      execution_mode: mode,
      phases: [...phasesOfMode(mode)],
      path: this.store.label(sessionDir(ref)),
    };
  }

  async saveCheckpoint(
    request: SaveCheckpointRequest,
  ): Promise<{ phase_num: number; status: PhaseStatus; revision: number }> {
    const ref = sessionRef(request);
    const checked = validateCheckpointRequest(request, this.limits);
    await this.files.assertExists(ref);
    return this.store.withLock(sessionDir(ref), async (lock) => {
      const mode = await this.modeOf(ref);
      const phase = phaseInMode(mode, request.phase_num);
      const previous = await this.files.readCheckpoint(ref, phase.num).catch((error: unknown) => {
        // The file is being replaced: an unreadable old version is kept in history/, not carried over.
        if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return undefined;
        throw error;
      });
      const started = await this.phaseStart(request, phase, previous);
      const checkpoint = this.buildCheckpoint(request, checked, phase, mode, previous, started);
      // Everything the manifest is rebuilt from is read before the write, so a save that cannot end in a
      // true manifest (another phase unreadable, sums too large) fails with nothing written.
      const checkpoints = await this.files.readCheckpoints(ref, mode, phase.num);
      assertMetricsFit(sessionMetrics(checkpoints.set(phase.num, checkpoint), mode));
      await this.store.ensureDirectory(phaseDir(ref, phase));
      await this.store.write(checkpointFile(ref, phase), renderCheckpoint(checkpoint), {
        keepHistory: true,
        lock,
        parsed: checkpoint,
      });
      const { manifest } = await this.files.commit(ref, lock);
      return { phase_num: phase.num, status: checkpoint.status, revision: manifest.revision };
    });
  }

  async saveAgentOutput(
    request: SaveAgentOutputRequest,
  ): Promise<{ phase_num: number; agent_name: string; file: string; sha256: string }> {
    const ref = sessionRef(request);
    assertIdentifier('agent_name', request.agent_name);
    const checked = validateAgentOutput(request, this.limits);
    const phase = phaseInMode(await this.modeOf(ref), request.phase_num);
    const file = agentFile(ref, phase, request.agent_name);
    // An empty listing may be a phase folder deleted by hand: it is made again.
    if (!(await this.assertNoCaseTwin(ref, phase, request.agent_name)))
      await this.store.ensureDirectory(phaseDir(ref, phase));
    const sha256 = createHash('sha256').update(request.output_content, 'utf8').digest('hex');
    const text = renderAgentOutput({
      agent_name: request.agent_name,
      phase_num: phase.num,
      executed: this.clock().toISOString(),
      status: request.status ?? 'completed',
      tools_used: checked.tools_used,
      sha256,
      content: request.output_content,
      ...definedOnly({
        duration: request.duration,
        model: checked.model,
        input_tokens: request.input_tokens,
        output_tokens: request.output_tokens,
        error_type: checked.error_type,
        error_message: checked.error_message,
        stack_trace: checked.stack_trace,
      }),
    });
    await this.store.write(file, text, { keepHistory: true });
    return { phase_num: phase.num, agent_name: request.agent_name, file: this.store.label(file), sha256 };
  }

  async saveUserFeedback(
    request: SaveUserFeedbackRequest,
  ): Promise<{ phase_num: number; action: FeedbackAction; phase_status: PhaseStatus }> {
    const ref = sessionRef(request);
    const checked = validateFeedback(request, this.limits);
    const action = request.action ?? 'approved';
    await this.files.assertExists(ref);
    return this.store.withLock(sessionDir(ref), async (lock) => {
      const mode = await this.modeOf(ref);
      const phase = phaseInMode(mode, request.phase_num);
      const checkpoint = await this.files.readCheckpoint(ref, phase.num);
      // A review edited by hand since may have set the status: the file is brought in line with it.
      const written = await this.files.readCheckpointFile(ref, phase.num);
      // The manifest is rebuilt from every checkpoint: one that cannot be read fails the save before any write.
      await this.files.readCheckpoints(ref, mode, phase.num);
      const retryCount =
        request.retry_count ?? (checkpoint?.retry_count ?? 0) + (action === 'retry_with_changes' ? 1 : 0);
      const status: PhaseStatus | undefined = statusOfAction(action) ?? checkpoint?.status;
      await this.store.ensureDirectory(phaseDir(ref, phase));
      await this.store.write(
        feedbackFile(ref, phase),
        renderUserFeedback({
          phase_name: phase.name,
          reviewed: request.reviewed,
          approved: request.approved,
          timestamp: this.clock().toISOString(),
          requested_changes: checked.requested_changes,
          action,
          retry_count: retryCount,
          comments: request.comments ?? '',
        }),
        { keepHistory: true, lock },
      );
      if (status !== undefined && (status !== written?.status || retryCount !== written.retry_count)) {
        const updated: CheckpointRecord = {
          ...(written ?? this.emptyCheckpoint(phase, mode)),
          status,
          retry_count: retryCount,
          updated: this.clock().toISOString(),
        };
        await this.store.write(checkpointFile(ref, phase), renderCheckpoint(updated), {
          keepHistory: true,
          lock,
          parsed: updated,
        });
      }
      await this.files.commit(ref, lock);
      return { phase_num: phase.num, action, phase_status: status ?? 'pending' };
    });
  }

  async loadSession(ref: SessionRef): Promise<SessionState> {
    sessionRef(ref);
    const snapshot = await this.files.load(ref);
    // Orphans come from a writer that died: once per session in this process is enough to clear them.
    const key = `${ref.project_id}/${ref.session_id}`;
    if (!this.swept.has(key)) {
      await this.store.removeOrphans(sessionDir(ref), 2);
      this.swept.add(key);
    }
    return sessionState(snapshot.manifest);
  }

  async getApprovedPhases(ref: SessionRef): Promise<{ phases: number[] }> {
    sessionRef(ref);
    await this.files.assertExists(ref);
    const phases: number[] = [];
    for (const num of phasesOfMode(await this.modeOf(ref))) {
      const rel = feedbackFile(ref, phaseDefinition(num));
      const text = await this.store.read(rel);
      if (text !== undefined && parseUserFeedback(text, this.store.label(rel)).approved) phases.push(num);
    }
    return { phases };
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
    const phase = await this.phaseOf(request);
    return listHistory(this.store, phaseDir(request, phase));
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

  async exportSession(ref: SessionRef): Promise<{ markdown: string }> {
    return { markdown: await exportSession(this.store, this.files, sessionRef(ref)) };
  }

  /** The session's mode, from its manifest or, if that is lost, from what is on disk; NOT_FOUND without a session. */
  async modeOf(ref: SessionRef): Promise<ExecutionMode> {
    const stored = await this.files.readStoredManifest(ref);
    if (stored) return stored.execution_mode;
    await this.files.assertExists(ref);
    return (await this.files.recoverIdentity(ref)).execution_mode;
  }

  async snapshot(ref: SessionRef): Promise<SessionSnapshot> {
    sessionRef(ref);
    return this.files.load(ref);
  }

  /** Throws PHASE_NOT_IN_MODE or NOT_FOUND before any read of a phase. */
  async phaseOf(request: PhaseRef): Promise<PhaseDefinition> {
    return phaseInMode(await this.modeOf(sessionRef(request)), request.phase_num);
  }

  /**
   * When the phase began, when the request does not say: the start kept from the attempt under way,
   * else the earliest start recorded by its agents' outputs, else now for a phase that begins with
   * this save. A phase reported finished with nothing recorded before has no known start.
   */
  private async phaseStart(
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
      this.store,
      request,
      phase,
      request.agents,
      rerun ? previous?.updated : undefined,
    );
    if (recorded !== undefined || request.status === 'pending' || isTerminal(request.status)) return recorded;
    return this.clock().toISOString();
  }

  private buildCheckpoint(
    request: SaveCheckpointRequest,
    checked: { errors: string[]; costs: Array<DecimalText | undefined> },
    phase: PhaseDefinition,
    mode: ExecutionMode,
    previous: CheckpointRecord | undefined,
    started: string | undefined,
  ): CheckpointRecord {
    const now = this.clock().toISOString();
    // Saving the same finished status again keeps the time it finished.
    const finishedBefore = previous?.status === request.status ? previous.completed : undefined;
    const completed = request.completed ?? (isTerminal(request.status) ? (finishedBefore ?? now) : undefined);
    const duration =
      request.duration ??
      (started !== undefined && completed !== undefined
        ? Math.max(0, (Date.parse(completed) - Date.parse(started)) / 1000)
        : undefined);
    const next = nextPhaseOfMode(mode, phase.num);
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
      ...definedOnly({ started, completed, duration, next_phase: next }),
    };
  }

  private emptyCheckpoint(phase: PhaseDefinition, mode: ExecutionMode): CheckpointRecord {
    const next = nextPhaseOfMode(mode, phase.num);
    return {
      phase_num: phase.num,
      phase_name: phase.name,
      status: 'pending',
      retry_count: 0,
      execution_mode: 'single',
      updated: this.clock().toISOString(),
      agents: [],
      errors: [],
      ...definedOnly({ next_phase: next }),
    };
  }

  private async ensureProject(projectId: string, userId: string, mode: ExecutionMode): Promise<void> {
    if (await this.store.exists(projectFile(projectId))) return;
    await this.store.ensureDirectory([projectId]);
    await this.store.withLock([projectId], async (lock) => {
      if (await this.store.exists(projectFile(projectId))) return;
      const now = this.clock().toISOString();
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
      await this.store.write(projectFile(projectId), renderProject(project), { lock });
    });
  }

  /** Returns whether the phase folder has any entries. */
  private async assertNoCaseTwin(
    ref: SessionRef,
    phase: PhaseDefinition,
    agentName: string,
  ): Promise<boolean> {
    const wanted = `${agentName}.md`;
    const entries = await this.store.list(phaseDir(ref, phase));
    const twin = entries.find(
      (entry) => entry.name !== wanted && entry.name.toLowerCase() === wanted.toLowerCase(),
    );
    if (twin) {
      throw new CheckpointError(
        'CONFLICT',
        `agent_name "${agentName}" differs only in letter case from the existing ${twin.name} in phase ${phase.num}; the two files would collide on macOS and Windows. Use "${twin.name.slice(0, -3)}" or another name`,
      );
    }
    return entries.length > 0;
  }
}

export function sessionRef(ref: SessionRef): SessionRef {
  assertIdentifier('project_id', ref.project_id);
  assertIdentifier('session_id', ref.session_id);
  return { project_id: ref.project_id, session_id: ref.session_id };
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

/** A status that ends an attempt: it gets a Completed time. */
function isTerminal(status: PhaseStatus): boolean {
  return status === 'completed' || status === 'failed' || status === 'skipped';
}
