import { type CheckpointRecord, parseCheckpoint } from '../formats/checkpoint.js';
import {
  type ManifestRecord,
  parseManifest,
  renderManifest,
  type SalvagedManifest,
  salvageManifest,
} from '../formats/manifest.js';
import { parseProject } from '../formats/project.js';
import { CheckpointError, isPlantedLink } from '../model/errors.js';
import type { Clock } from '../model/limits.js';
import {
  checkpointFile,
  feedbackFile,
  manifestFile,
  projectFile,
  type RelPath,
  type SessionRef,
  sessionDir,
} from '../model/paths.js';
import {
  BUILT_IN_WORKFLOW,
  modeOfFile,
  nextPhaseOf,
  type PhaseDefinition,
  phaseOfDirectory,
  planNums,
  type SessionPlan,
} from '../model/phases.js';
import { type WorkflowDefinition, planOf as workflowPlan } from '../model/workflows.js';
import {
  type Engine,
  type LockReads,
  MissingFolderError,
  type PendingWrite,
  type SessionLock,
  type TimedText,
  type WriteOptions,
} from '../store/engine.js';
import { applyReview, reviewOverride } from './review-override.js';
import {
  blankCheckpoint,
  buildManifest,
  identityOf,
  manifestAgrees,
  type SessionIdentity,
} from './session-state.js';
import { WorkflowRegistry } from './workflow-registry.js';

/** Why a stored manifest is not a true view of its checkpoints. */
export type ManifestProblem = 'missing' | 'unreadable' | 'disagrees';

type Inspection =
  | { problem: ManifestProblem; snapshot?: undefined }
  | { problem?: undefined; snapshot: SessionSnapshot };

export interface SessionSnapshot {
  manifest: ManifestRecord;
  checkpoints: Map<number, CheckpointRecord>;
}

/** Sessions whose phases are remembered; past this the oldest is forgotten. */
const PLANS_KEPT = 10_000;

/** Reads a session's manifest and checkpoints, and rewrites the manifest from the checkpoints. */
export class SessionFiles {
  /** Each session's phases, with the manifest stamp they were read under. */
  private readonly plans = new Map<string, { stamp: string; plan: SessionPlan }>();

  constructor(
    private readonly store: Engine,
    private readonly clock: Clock,
  ) {}

  async assertExists(ref: SessionRef): Promise<void> {
    if (await this.store.exists(sessionDir(ref))) return;
    if (!(await this.store.exists(projectFile(ref.project_id)))) {
      throw new CheckpointError(
        'NOT_FOUND',
        `project "${ref.project_id}" not found; call list_projects, or create_session / create_project to make it`,
      );
    }
    throw new CheckpointError(
      'NOT_FOUND',
      `session "${ref.session_id}" not found in project "${ref.project_id}"; call list_sessions or create_session`,
    );
  }

  /**
   * Runs `action` holding the session's lock. A session that is not there is NOT_FOUND, found out by
   * the lock itself: no look of its own first, which on PostgreSQL is a round trip less per save.
   */
  async withSessionLock<T>(ref: SessionRef, action: (lock: SessionLock) => Promise<T>): Promise<T> {
    const reads = this.sessionReads(ref);
    try {
      return await this.store.withLock(sessionDir(ref), action, reads);
    } catch (error) {
      if (!(error instanceof MissingFolderError)) throw error;
    }
    // NOT_FOUND, naming what is missing: the project or the session.
    await this.assertExists(ref);
    // The session was made between the two looks: it is there to lock now.
    return this.store.withLock(sessionDir(ref), action, reads);
  }

  /**
   * What a save under the session lock reads first: the manifest, and the checkpoints of the phases
   * last seen with their reviews' times (see readCheckpoints). Phases changed since are read as usual.
   */
  private sessionReads(ref: SessionRef): LockReads {
    const phases = this.rememberedPlan(ref)?.plan.phases ?? [];
    return {
      documents: [manifestFile(ref), ...phases.map((phase) => checkpointFile(ref, phase))],
      timed: phases.map((phase) => feedbackFile(ref, phase)),
    };
  }

  /** The stored manifest, or undefined when it is missing or unreadable (it can be rebuilt). */
  async readStoredManifest(ref: SessionRef): Promise<ManifestRecord | undefined> {
    const stored = await this.readManifestFile(ref);
    return typeof stored === 'string' ? undefined : stored;
  }

  /** A phase's checkpoint as it stands: a review edited by hand since it was written has the last word. */
  async readCheckpoint(ref: SessionRef, phase: PhaseDefinition): Promise<CheckpointRecord | undefined> {
    const checkpoint = await this.readCheckpointFile(ref, phase);
    if (checkpoint === undefined) return undefined;
    const override = await reviewOverride(this.store, ref, phase, checkpoint);
    return override ? applyReview(checkpoint, override) : checkpoint;
  }

  /** checkpoint.md as written. */
  async readCheckpointFile(ref: SessionRef, phase: PhaseDefinition): Promise<CheckpointRecord | undefined> {
    const rel = checkpointFile(ref, phase);
    const checkpoint = await this.store.parsed.read(rel, parseCheckpoint);
    return checkpoint && this.inPlace(checkpoint, phase, rel);
  }

  /**
   * The checkpoints of the session's phases, read together (one round trip on PostgreSQL), as
   * readCheckpoint reads each: CORRUPT_FILE for any that cannot be read, except the checkpoint of phase
   * `replacing`, which a save is about to replace (its old version is kept in history/), read as none.
   */
  async readCheckpoints(
    ref: SessionRef,
    plan: SessionPlan,
    replacing?: number,
  ): Promise<Map<number, CheckpointRecord>> {
    const { phases } = plan;
    const checkpoints = phases.map((phase) => checkpointFile(ref, phase));
    // A file the batch cannot read (a link planted in its place) is read alone below, which says which.
    const read = await this.store
      .readAll(
        checkpoints,
        phases.map((phase) => feedbackFile(ref, phase)),
      )
      .catch(corruptAsMissing);
    const records = await Promise.all(
      phases.map(async (phase, i) => {
        const found = read?.documents[i];
        const reading = !read
          ? this.readCheckpoint(ref, phase)
          : found && this.checkpointOf(ref, phase, found, read.modified[i]);
        const record = await (phase.num === replacing
          ? Promise.resolve(reading).catch(corruptAsMissing)
          : reading);
        // No checkpoint but a review (written by hand: save_user_feedback writes both): its action stands.
        if (record !== undefined || (read && read.modified[i] === undefined)) return record;
        return this.reviewedOnly(
          ref,
          plan,
          phase,
          read && { reviewed: read.modified[i], written: undefined },
        );
      }),
    );
    const map = new Map<number, CheckpointRecord>();
    records.forEach((record, i) => {
      if (record) map.set((phases[i] as PhaseDefinition).num, record);
    });
    return map;
  }

  /** A checkpoint read by readAll, with the review's modification time beside it, as readCheckpoint has it. */
  private async checkpointOf(
    ref: SessionRef,
    phase: PhaseDefinition,
    found: TimedText,
    reviewed: number | undefined,
  ): Promise<CheckpointRecord> {
    const rel = checkpointFile(ref, phase);
    const checkpoint = this.inPlace(
      this.store.parsed.remember(rel, found.identity, () =>
        parseCheckpoint(found.text, this.store.label(rel)),
      ),
      phase,
      rel,
    );
    const override = await reviewOverride(this.store, ref, phase, checkpoint, {
      reviewed,
      written: found.modifiedMs,
    });
    return override ? applyReview(checkpoint, override) : checkpoint;
  }

  /**
   * A phase with a review and no checkpoint.md, as save_user_feedback would have left it: pending, and
   * the status the review's action sets (skipped, requires_retry); undefined for an approval.
   */
  private async reviewedOnly(
    ref: SessionRef,
    plan: SessionPlan,
    phase: PhaseDefinition,
    known?: { reviewed: number | undefined; written: undefined },
  ): Promise<CheckpointRecord | undefined> {
    const blank = blankCheckpoint(phase, nextPhaseOf(plan, phase.num), new Date(0).toISOString());
    const override = await reviewOverride(this.store, ref, phase, blank, known);
    return override && applyReview(blank, override);
  }

  /** The checkpoint read from `rel`, when it is the one of the phase whose folder holds it. */
  private inPlace(checkpoint: CheckpointRecord, phase: PhaseDefinition, rel: RelPath): CheckpointRecord {
    if (checkpoint.phase_num !== phase.num) {
      throw new CheckpointError(
        'CORRUPT_FILE',
        `${this.store.label(rel)}: Phase Number is ${checkpoint.phase_num} but the file is in the directory of phase ${phase.num}; fix the file by hand or restore it from history/`,
      );
    }
    return checkpoint;
  }

  /**
   * The session's phases: from its manifest, or, when that is lost, from what is on disk. A session
   * keeps its phases for life, so while the manifest's stamp stands still (only a hand edit could change
   * them) they are not read again: a save checks them with one lstat, not a read and a parse.
   */
  async planOf(ref: SessionRef): Promise<SessionPlan> {
    const rel = manifestFile(ref);
    const key = rel.join('/');
    const stamp = await this.store.documentStamp(rel);
    const known = this.plans.get(key);
    if (stamp !== undefined && known?.stamp === stamp) return known.plan;
    const stored = await this.readStoredManifest(ref);
    if (stored) {
      const plan = identityOf(stored).plan;
      // A stamp taken before the read: a manifest changed in between is read again next time.
      if (stamp !== undefined) this.rememberPlan(key, stamp, plan);
      return plan;
    }
    await this.assertExists(ref);
    return (await this.recoverIdentity(ref)).plan;
  }

  /**
   * The session's phases as planOf last read them, not checked again, and the manifest stamp they hold
   * under: a caller writes with `unchanged` set to that stamp (see WriteOptions), and on StaleStampError
   * calls planOf. Undefined when nothing is remembered.
   */
  rememberedPlan(ref: SessionRef): { plan: SessionPlan; stamp: string } | undefined {
    return this.plans.get(manifestFile(ref).join('/'));
  }

  private rememberPlan(key: string, stamp: string, plan: SessionPlan): void {
    this.plans.delete(key);
    this.plans.set(key, { stamp, plan: frozen(plan) });
    if (this.plans.size > PLANS_KEPT) {
      const oldest = this.plans.keys().next().value;
      if (oldest !== undefined) this.plans.delete(oldest);
    }
  }

  /**
   * The session as its checkpoints say. A manifest that is missing, unreadable or out of step is
   * rebuilt under the session lock (the checkpoints are the truth), so every load sees a true view.
   */
  async load(ref: SessionRef): Promise<SessionSnapshot> {
    await this.assertExists(ref);
    const seen = await this.inspect(ref);
    if (seen.snapshot) return seen.snapshot;
    // What looked wrong may be a save in flight (checkpoint renamed, manifest not yet): under the lock no
    // save is half done, so only a manifest still wrong there is rebuilt, and Revision keeps counting saves.
    return this.store.withLock(sessionDir(ref), async (lock) => {
      return (await this.inspect(ref)).snapshot ?? (await this.commit(ref, lock, { replacesStale: true }));
    });
  }

  /** Rebuilds the manifest if it is missing, unreadable or out of step with the checkpoints; says which. */
  async repair(ref: SessionRef): Promise<ManifestProblem | undefined> {
    await this.assertExists(ref);
    if (!(await this.inspect(ref)).problem) return undefined;
    return this.store.withLock(sessionDir(ref), async (lock) => {
      const { problem } = await this.inspect(ref);
      if (problem) await this.commit(ref, lock, { replacesStale: true });
      return problem;
    });
  }

  /**
   * Rewrites the manifest from the checkpoints, one revision up. Call it holding the session lock.
   * Whatever the caller read under that same lock it passes on, and is not read again: `stored`, the
   * manifest (see manifestUnderLock); `checkpoints`, every checkpoint as it read or wrote it;
   * `identity`, the session's identity when there is no manifest to take it from. The manifest
   * replaced is kept in history/ when it said other than its checkpoints (`replacesStale`, see
   * manifestStale), or could not be read: it is then the only record of what a person deleted or
   * changed by hand.
   */
  async commit(
    ref: SessionRef,
    lock: SessionLock,
    known: {
      identity?: SessionIdentity;
      checkpoints?: Map<number, CheckpointRecord>;
      stored?: ManifestRecord;
      replacesStale?: boolean;
    } = {},
    /** Writes the manifest follows, written with it: each in place before the manifest is (writeAll). */
    along: readonly PendingWrite[] = [],
  ): Promise<SessionSnapshot> {
    const stored = known.stored ?? (await this.readStoredManifest(ref));
    const identity = stored ? identityOf(stored) : (known.identity ?? (await this.recoverIdentity(ref)));
    const checkpoints = known.checkpoints ?? (await this.readCheckpoints(ref, identity.plan));
    const manifest = buildManifest(
      identity,
      checkpoints,
      (stored?.revision ?? 0) + 1,
      this.clock().toISOString(),
    );
    const rel = manifestFile(ref);
    let stamp: string | undefined;
    const options: WriteOptions = {
      lock,
      parsed: manifest,
      batched: true,
      // A manifest missing has nothing to keep; one unreadable is kept as it is.
      keepHistory: known.replacesStale === true || stored === undefined,
      stamped: (written) => {
        stamp = written;
      },
    };
    const content = renderManifest(manifest);
    if (along.length === 0) await this.store.write(rel, content, options);
    else await this.store.writeAll([...along, { rel, content, options }]);
    // The next save trusts the phases under the new stamp; should this write not stand (a transaction
    // rolled back), the stamp names no stored version and that save reads the manifest again.
    if (stamp === undefined) this.plans.delete(rel.join('/'));
    else this.rememberPlan(rel.join('/'), stamp, identity.plan);
    return { manifest, checkpoints };
  }

  /**
   * Whether `stored` says other than `checkpoints`, every checkpoint as a save read it under the lock
   * before changing any: a checkpoint deleted or edited, or a review written, by hand since the
   * manifest was written. The save's new manifest then keeps the old one in history/ (see commit).
   */
  manifestStale(
    stored: ManifestRecord | undefined,
    checkpoints: ReadonlyMap<number, CheckpointRecord>,
  ): boolean {
    if (stored === undefined) return false;
    return !manifestAgrees(
      stored,
      buildManifest(identityOf(stored), checkpoints, stored.revision, stored.last_updated),
    );
  }

  /**
   * The stored manifest and the session's phases, read once by a save holding the session lock, which
   * then hands `stored` to commit: one read where planOf and commit would read twice.
   */
  async manifestUnderLock(ref: SessionRef): Promise<{ plan: SessionPlan; stored?: ManifestRecord }> {
    const stored = await this.readStoredManifest(ref);
    return stored ? { plan: identityOf(stored).plan, stored } : { plan: await this.planOf(ref) };
  }

  private async inspect(ref: SessionRef): Promise<Inspection> {
    const stored = await this.readManifestFile(ref);
    const identity = typeof stored === 'string' ? await this.recoverIdentity(ref) : identityOf(stored);
    const checkpoints = await this.readCheckpoints(ref, identity.plan);
    if (typeof stored === 'string') return { problem: stored };
    const derived = buildManifest(identity, checkpoints, stored.revision, stored.last_updated);
    if (!manifestAgrees(stored, derived)) return { problem: 'disagrees' };
    return { snapshot: { manifest: stored, checkpoints } };
  }

  /** The stored manifest, or why there is none to use. */
  async readManifestFile(ref: SessionRef): Promise<ManifestRecord | 'missing' | 'unreadable'> {
    try {
      return (await this.store.parsed.read(manifestFile(ref), parseManifest)) ?? 'missing';
    } catch (error) {
      // A link planted in its place is no manifest a rebuild could replace: the store refuses to write there.
      if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE' && !isPlantedLink(error))
        return 'unreadable';
      throw error;
    }
  }

  /**
   * Identity of a session whose manifest is lost or unreadable. What a manifest mistyped by hand still
   * says soundly (salvageManifest) comes first: its user, creation time, workflow, mode and phase table.
   * Else the phases are the plan, of every workflow's modes, that the phase folders on disk fit best
   * (a session is made with its plan's folders); project.md breaks a tie, and names the user.
   */
  async recoverIdentity(ref: SessionRef): Promise<SessionIdentity> {
    const projectRel = projectFile(ref.project_id);
    const projectText = await this.store.read(projectRel);
    const project =
      projectText === undefined ? undefined : parseProject(projectText, this.store.label(projectRel));
    const onDisk = (await this.store.list(sessionDir(ref))).flatMap((entry) => {
      const found = entry.kind === 'directory' ? phaseOfDirectory(entry.name) : undefined;
      return found ? [{ num: found.num, dir: entry.name }] : [];
    });
    const salvaged = await this.salvagedManifest(ref);
    const created =
      salvaged.created ?? ((await this.store.createdAt(sessionDir(ref))) ?? this.clock()).toISOString();
    return {
      session_id: ref.session_id,
      project_id: ref.project_id,
      user_id: salvaged.user_id ?? project?.user_id ?? 'unknown',
      created,
      plan: await this.recoverPlan(ref, onDisk, salvaged, project),
    };
  }

  /** What can still be read of an unreadable manifest of this session (nothing when it is missing). */
  private async salvagedManifest(ref: SessionRef): Promise<SalvagedManifest> {
    let text: string | undefined;
    try {
      text = await this.store.read(manifestFile(ref));
    } catch (error) {
      if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return {};
      throw error;
    }
    if (text === undefined) return {};
    const salvaged = salvageManifest(text);
    // A manifest copied over from another session says nothing of this one.
    return salvaged.session_id === undefined || salvaged.session_id === ref.session_id ? salvaged : {};
  }

  private async recoverPlan(
    ref: SessionRef,
    onDisk: ReadonlyArray<{ num: number; dir: string }>,
    salvaged: SalvagedManifest,
    project: { workflow_type?: string; execution_mode?: string } | undefined,
  ): Promise<SessionPlan> {
    const { workflow_type: type, execution_mode: mode, phases } = salvaged;
    if (type !== undefined && mode !== undefined && phases !== undefined) {
      return withRevision(
        { workflow_type: type, execution_mode: mode, phases: phases.map((phase) => ({ ...phase })) },
        salvaged.workflow_revision,
      );
    }
    const candidates = await this.candidatePlans(salvaged, project);
    const folders = new Set(onDisk.map((folder) => folder.dir));
    let best: { plan: SessionPlan; covered: number; missing: number } | undefined;
    for (const plan of candidates) {
      const covered = plan.phases.filter((phase) => folders.has(phase.dir)).length;
      const missing = plan.phases.length - covered;
      // A tie goes to the earlier candidate: the manifest's own workflow and mode, then the project's.
      const better =
        best === undefined || covered > best.covered || (covered === best.covered && missing < best.missing);
      if (covered > 0 && better) best = { plan, covered, missing };
    }
    const chosen = best?.plan ?? (onDisk.length === 0 ? candidates[0] : undefined);
    // No workflow there is fits the folders, the built-in one included: a user's workflow since removed
    // or changed, named as the manifest or the project names one, else as unknown.
    const projectType = project?.workflow_type;
    const named = [type, projectType].find((each) => each !== undefined && each !== BUILT_IN_WORKFLOW);
    const base: SessionPlan = chosen ?? {
      workflow_type: named ?? UNKNOWN,
      execution_mode: (named === type ? mode : project?.execution_mode) ?? UNKNOWN,
      phases: [],
    };
    // Phase folders of phases the plan lacks stay the session's (the built-in plan has no others). One more
    // folder of a phase the plan has (phase_2_backup beside phase_2_market_research) is no second phase 2.
    const more =
      base.workflow_type === BUILT_IN_WORKFLOW
        ? []
        : await this.folderPhases(ref, onDisk, new Set(planNums(base)));
    const all = [...base.phases, ...more];
    all.sort((a, b) => a.num - b.num);
    const revision = salvaged.workflow_type === base.workflow_type ? salvaged.workflow_revision : undefined;
    return withRevision({ ...base, phases: all }, revision ?? base.workflow_revision);
  }

  /**
   * The plans a session could have: the workflow and mode its manifest names, the project's, then every
   * mode of those workflows, of the built-in one and of every other workflow there is. A workflow that
   * cannot be read, or a mode it lacks, is passed over.
   */
  private async candidatePlans(
    salvaged: SalvagedManifest,
    project: { workflow_type?: string; execution_mode?: string } | undefined,
  ): Promise<SessionPlan[]> {
    const registry = new WorkflowRegistry(this.store);
    const definitions = new Map<string, WorkflowDefinition | undefined>();
    const definitionOf = async (type: string) => {
      if (!definitions.has(type))
        definitions.set(type, await registry.get(type, { twins: 'read' }).catch(() => undefined));
      return definitions.get(type);
    };
    const plans: SessionPlan[] = [];
    const add = (definition: WorkflowDefinition | undefined, mode: string | undefined) => {
      if (definition === undefined || mode === undefined) return;
      try {
        plans.push(workflowPlan(definition, modeOfFile(definition.workflow_type, mode)));
      } catch {
        // Not a mode of this workflow.
      }
    };
    const projectType = project?.workflow_type ?? BUILT_IN_WORKFLOW;
    if (salvaged.workflow_type !== undefined)
      add(await definitionOf(salvaged.workflow_type), salvaged.execution_mode);
    add(await definitionOf(projectType), project?.execution_mode);
    const others = await registry.types().catch(() => [] as string[]);
    const types = new Set([salvaged.workflow_type ?? projectType, projectType, BUILT_IN_WORKFLOW, ...others]);
    for (const type of types) {
      const definition = await definitionOf(type);
      for (const each of definition?.modes ?? []) add(definition, each.name);
    }
    // A session made before its workflow was defined again has the folders of a kept revision.
    for (const type of types) {
      for (const definition of await registry.kept(type).catch(() => [] as WorkflowDefinition[]))
        for (const each of definition.modes) add(definition, each.name);
    }
    return plans;
  }

  /**
   * The phases of the folders on disk whose numbers are not `taken`, one a number, each named by its
   * checkpoint. Of two folders of one phase (a copy a person made), the one whose checkpoint was saved
   * last: saves go to the session's own folder.
   */
  private async folderPhases(
    ref: SessionRef,
    onDisk: ReadonlyArray<{ num: number; dir: string }>,
    taken: ReadonlySet<number>,
  ): Promise<PhaseDefinition[]> {
    const byNum = new Map<number, { phase: PhaseDefinition; saved: number }>();
    for (const { num, dir } of [...onDisk].sort((a, b) => (a.dir < b.dir ? -1 : 1))) {
      if (taken.has(num)) continue;
      const phase = { num, name: `Phase ${num}`, dir };
      const checkpoint = await this.readCheckpointFile(ref, phase).catch(() => undefined);
      const saved = checkpoint === undefined ? Number.NEGATIVE_INFINITY : Date.parse(checkpoint.updated);
      const known = byNum.get(num);
      if (known !== undefined && !(saved > known.saved)) continue;
      byNum.set(num, { phase: { ...phase, name: checkpoint?.phase_name ?? phase.name }, saved });
    }
    return [...byNum.values()].map((entry) => entry.phase);
  }
}

/** The workflow or mode of a session whose manifest is lost and whose folders fit no workflow there is. */
const UNKNOWN = 'unknown';

/** `plan` with the workflow revision a user's workflow records; the built-in one records none. */
function withRevision(plan: SessionPlan, revision: number | undefined): SessionPlan {
  const { workflow_revision: _, ...rest } = plan;
  return plan.workflow_type === BUILT_IN_WORKFLOW || revision === undefined
    ? rest
    : { ...rest, workflow_revision: revision };
}

/** An unreadable file read as none. */
function corruptAsMissing(error: unknown): undefined {
  if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return undefined;
  throw error;
}

/** A remembered plan is handed out as it is, so it is frozen: the readonly types already forbid changing it. */
function frozen(plan: SessionPlan): SessionPlan {
  for (const phase of plan.phases) Object.freeze(phase);
  Object.freeze(plan.phases);
  return Object.freeze(plan);
}
