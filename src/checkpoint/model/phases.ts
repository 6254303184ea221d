import { CheckpointError } from './errors.js';

/** A mode's name (mvp, full, quick...): by the identifier rules. */
export type ExecutionMode = string;
/** A workflow's type (idea_validation, code_review...): by the identifier rules. */
export type WorkflowType = string;

export const BUILT_IN_WORKFLOW = 'idea_validation';

/** The largest phase number a workflow may use, and the most phases one may have. */
export const MAX_PHASE_NUM = 99;
export const MAX_PHASES = 50;

export interface PhaseDefinition {
  readonly num: number;
  readonly name: string;
  /** The phase's folder in a session: `phase_{num}_{slug}`. */
  readonly dir: string;
}

/** The phases one session runs, in order: its workflow's phases of its mode, as they were when it began. */
export interface SessionPlan {
  readonly workflow_type: WorkflowType;
  /** The workflow's revision the session began with; absent for the built-in workflow. */
  readonly workflow_revision?: number;
  readonly execution_mode: ExecutionMode;
  readonly phases: readonly PhaseDefinition[];
}

export const PHASE_DIR = /^phase_([1-9]\d?)_([a-z0-9_]{1,40})$/;

export function phaseFolder(num: number, slug: string): string {
  return `phase_${num}_${slug}`;
}

/** The slug of a phase folder (`phase_2_market_research` -> `market_research`). */
export function slugOf(dir: string): string {
  return PHASE_DIR.exec(dir)?.[2] ?? dir;
}

/** The built-in workflow's seven phases: the seed's names and folders, exactly. */
export const PHASES: readonly PhaseDefinition[] = [
  { num: 1, name: 'Concept Expansion', dir: 'phase_1_concept' },
  { num: 2, name: 'Market Research', dir: 'phase_2_market_research' },
  { num: 3, name: 'Niche Selection', dir: 'phase_3_niche_selection' },
  { num: 4, name: 'Product Strategy', dir: 'phase_4_product_strategy' },
  { num: 5, name: 'Business Planning', dir: 'phase_5_business_planning' },
  { num: 6, name: 'Validation', dir: 'phase_6_validation' },
  { num: 7, name: 'Final Synthesis', dir: 'phase_7_synthesis' },
];

export const BUILT_IN_MODES: Readonly<Record<string, readonly number[]>> = {
  mvp: [1, 2, 3, 6, 7],
  full: [1, 2, 3, 4, 5, 6, 7],
};

/** The plan of a built-in session of `mode`; INVALID_ARGUMENT for a mode it does not have. */
export function builtInPlan(mode: ExecutionMode): SessionPlan {
  // Own keys only: "constructor" or "toString" is no mode, though every object answers to it.
  const nums = Object.hasOwn(BUILT_IN_MODES, mode) ? BUILT_IN_MODES[mode] : undefined;
  if (!nums) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `execution_mode "${mode}" is not a mode of ${BUILT_IN_WORKFLOW}; its modes are ${Object.keys(BUILT_IN_MODES).join(', ')}`,
    );
  }
  return {
    workflow_type: BUILT_IN_WORKFLOW,
    execution_mode: mode,
    phases: nums.map((num) => PHASES.find((phase) => phase.num === num) as PhaseDefinition),
  };
}

/** The workflow a file names: the built-in one in any letter case, as a hand-edited file may write it. */
export function workflowOfFile(workflowType: WorkflowType): WorkflowType {
  // No workflow may be named like the built-in one in another case (define_workflow refuses it).
  return workflowType.toLowerCase() === BUILT_IN_WORKFLOW ? BUILT_IN_WORKFLOW : workflowType;
}

/**
 * The mode a file names for a session or project: a built-in workflow's mode in any letter case, as a
 * hand-edited file may write it (MVP -> mvp); a user's workflow's modes are as they are written.
 */
export function modeOfFile(workflowType: WorkflowType, mode: ExecutionMode): ExecutionMode {
  const lower = mode.toLowerCase();
  return workflowType === BUILT_IN_WORKFLOW && Object.hasOwn(BUILT_IN_MODES, lower) ? lower : mode;
}

export function planNums(plan: SessionPlan): number[] {
  return plan.phases.map((phase) => phase.num);
}

/** A phase number any workflow could have; INVALID_ARGUMENT otherwise. */
export function assertPhaseNum(num: number): void {
  if (!Number.isSafeInteger(num) || num < 1 || num > MAX_PHASE_NUM) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `phase_num ${num} is not a phase number; use a whole number from 1 to ${MAX_PHASE_NUM}, one of the session's phases`,
    );
  }
}

/** The phase of the session: PHASE_NOT_IN_MODE, naming the session's phases, for any other number. */
export function phaseIn(plan: SessionPlan, num: number): PhaseDefinition {
  assertPhaseNum(num);
  const phase = plan.phases.find((candidate) => candidate.num === num);
  if (!phase) {
    const known = PHASES.find((candidate) => candidate.num === num);
    const what = plan.workflow_type === BUILT_IN_WORKFLOW && known ? ` (${known.name})` : '';
    throw new CheckpointError(
      'PHASE_NOT_IN_MODE',
      `phase_num ${num}${what} is not part of this ${plan.workflow_type} session (mode ${plan.execution_mode}); its phases are ${planNums(plan).join(', ')}`,
    );
  }
  return phase;
}

/** The phase after `num` in the session, if any. */
export function nextPhaseOf(plan: SessionPlan, num: number): PhaseDefinition | undefined {
  return plan.phases.find((phase) => phase.num > num);
}

/** The phase a folder of a session is, by its name alone. */
export function phaseOfDirectory(dir: string): { num: number; slug: string } | undefined {
  const match = PHASE_DIR.exec(dir);
  if (!match) return undefined;
  const num = Number(match[1]);
  return num >= 1 && num <= MAX_PHASE_NUM ? { num, slug: match[2] as string } : undefined;
}
