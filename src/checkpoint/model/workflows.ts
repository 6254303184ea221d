import { CheckpointError } from './errors.js';
import { identifierProblem } from './identifiers.js';
import {
  BUILT_IN_MODES,
  BUILT_IN_WORKFLOW,
  type ExecutionMode,
  MAX_PHASE_NUM,
  MAX_PHASES,
  PHASES,
  type PhaseDefinition,
  phaseFolder,
  type SessionPlan,
  slugOf,
} from './phases.js';
import { hasLoneSurrogate } from './values.js';

export interface WorkflowPhase {
  num: number;
  name: string;
  /** The slug of its folder: `phase_{num}_{folder}`. */
  folder: string;
}

export interface WorkflowMode {
  name: ExecutionMode;
  phases: number[];
}

export interface WorkflowDefinition {
  workflow_type: string;
  title: string;
  default_mode: ExecutionMode;
  phases: WorkflowPhase[];
  modes: WorkflowMode[];
  revision: number;
}

export const FOLDER_SLUG = /^[a-z0-9_]{1,40}$/;
/**
 * Modes a workflow has at most. Each names up to 50 phases: within this a definition stays a few KB, and
 * list_workflows a page the response budget holds.
 */
export const MAX_MODES = 50;
/** No workflow has this type: workflows/project.md would mark the definitions folder as a project. */
export const RESERVED_WORKFLOW_TYPE = 'project';
const NAME_LIMIT = 80;
const TITLE_LIMIT = 200;

/** The seed's seven-phase workflow, built in: listed like the others, never redefined. */
export const IDEA_VALIDATION: WorkflowDefinition = {
  workflow_type: BUILT_IN_WORKFLOW,
  title: 'Startup idea validation',
  default_mode: 'mvp',
  phases: PHASES.map((phase) => ({ num: phase.num, name: phase.name, folder: slugOf(phase.dir) })),
  modes: Object.entries(BUILT_IN_MODES).map(([name, phases]) => ({ name, phases: [...phases] })),
  revision: 1,
};

/** What is wrong with a definition: the message names the field; `at` says which row, for a document's line. */
export interface WorkflowProblem {
  message: string;
  at?: { table: 'phases' | 'modes'; index: number };
}

/**
 * Why a definition cannot be a workflow, naming the field at fault, or undefined when it can. Phase
 * numbers 1 to 99 and folders `[a-z0-9_]{1,40}` are unique; names are one line of at most 80
 * characters; at most 50 phases; every mode (by the identifier rules, no two differing only in letter
 * case) lists existing phases in order.
 */
export function workflowProblem(
  definition: Omit<WorkflowDefinition, 'revision'>,
): WorkflowProblem | undefined {
  const message = workflowMessage(definition);
  if (message === undefined) return undefined;
  const row = /^(phases|modes)\[(\d+)\]/.exec(message);
  return row ? { message, at: { table: row[1] as 'phases' | 'modes', index: Number(row[2]) } } : { message };
}

function workflowMessage(definition: Omit<WorkflowDefinition, 'revision'>): string | undefined {
  const { phases, modes } = definition;
  const typeProblem = identifierProblem(definition.workflow_type);
  if (typeProblem) return `workflow_type ${JSON.stringify(definition.workflow_type)} ${typeProblem}`;
  if (definition.workflow_type.toLowerCase() === RESERVED_WORKFLOW_TYPE)
    return `workflow_type ${JSON.stringify(definition.workflow_type)} is reserved (any letter case): workflows/${RESERVED_WORKFLOW_TYPE}.md would read as a project's own document; choose another name`;
  if (phases.length === 0) return 'phases is empty; a workflow has at least one phase';
  if (phases.length > MAX_PHASES)
    return `phases has ${phases.length} phases, over the limit of ${MAX_PHASES}`;
  const nums = new Set<number>();
  const folders = new Set<string>();
  for (const [i, phase] of phases.entries()) {
    const at = `phases[${i}]`;
    if (!Number.isSafeInteger(phase.num) || phase.num < 1 || phase.num > MAX_PHASE_NUM)
      return `${at}.num ${phase.num} is not a whole number from 1 to ${MAX_PHASE_NUM}`;
    if (nums.has(phase.num)) return `${at}.num ${phase.num} repeats another phase's number`;
    nums.add(phase.num);
    const nameProblem = lineProblem(phase.name);
    if (nameProblem) return `${at}.name ${nameProblem}`;
    if (!FOLDER_SLUG.test(phase.folder))
      return `${at}.folder ${JSON.stringify(phase.folder)} must be 1 to 40 characters of a-z 0-9 _`;
    if (folders.has(phase.folder)) return `${at}.folder "${phase.folder}" repeats another phase's folder`;
    folders.add(phase.folder);
  }
  if (modes.length === 0) return 'modes is empty; a workflow has at least one mode';
  if (modes.length > MAX_MODES) return `modes has ${modes.length} modes, over the limit of ${MAX_MODES}`;
  const modeNames = new Set<string>();
  // Two names a person cannot tell apart, as agents, projects and sessions differing only in case are refused.
  const folded = new Map<string, string>();
  for (const [i, mode] of modes.entries()) {
    const at = `modes[${i}]`;
    const problem = identifierProblem(mode.name);
    if (problem) return `${at}.name ${JSON.stringify(mode.name)} ${problem}`;
    if (modeNames.has(mode.name)) return `${at}.name "${mode.name}" repeats another mode`;
    const twin = folded.get(mode.name.toLowerCase());
    if (twin !== undefined)
      return `${at}.name "${mode.name}" differs from mode "${twin}" only in letter case, which a person cannot tell apart; rename one of them`;
    modeNames.add(mode.name);
    folded.set(mode.name.toLowerCase(), mode.name);
    if (mode.phases.length === 0) return `${at}.phases is empty; a mode runs at least one phase`;
    for (const [j, num] of mode.phases.entries()) {
      if (!nums.has(num))
        return `${at}.phases[${j}] ${num} is no phase of this workflow; its phases are ${[...nums].join(', ')}`;
      if (j > 0 && num <= (mode.phases[j - 1] as number))
        return `${at}.phases must list phases in increasing order, without repeats`;
    }
  }
  if (!modeNames.has(definition.default_mode))
    return `default_mode "${definition.default_mode}" is not one of its modes (${[...modeNames].join(', ')})`;
  const titleProblem = lineProblem(definition.title, TITLE_LIMIT);
  if (titleProblem) return `title ${titleProblem}`;
  return undefined;
}

export function assertWorkflow(definition: Omit<WorkflowDefinition, 'revision'>): void {
  // A count over its limit, as for agents and requested changes.
  if (definition.phases.length > MAX_PHASES) {
    throw new CheckpointError(
      'LIMIT_EXCEEDED',
      `phases has ${definition.phases.length} phases, over the limit of ${MAX_PHASES}; nothing was saved. Define at most ${MAX_PHASES}`,
    );
  }
  if (definition.modes.length > MAX_MODES) {
    throw new CheckpointError(
      'LIMIT_EXCEEDED',
      `modes has ${definition.modes.length} modes, over the limit of ${MAX_MODES}; nothing was saved. Define at most ${MAX_MODES}`,
    );
  }
  const problem = workflowProblem(definition);
  if (problem) throw new CheckpointError('INVALID_ARGUMENT', `${problem.message}; nothing was saved`);
}

/** The plan of a session of `mode` in this workflow; INVALID_ARGUMENT naming its modes for another. */
export function planOf(definition: WorkflowDefinition, mode: ExecutionMode | undefined): SessionPlan {
  const chosen = mode ?? definition.default_mode;
  const found = definition.modes.find((candidate) => candidate.name === chosen);
  if (!found) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `execution_mode "${chosen}" is not a mode of workflow ${definition.workflow_type}; its modes are ${definition.modes.map((m) => m.name).join(', ')} (get_workflow shows them)`,
    );
  }
  const phases = found.phases.map((num): PhaseDefinition => {
    const phase = definition.phases.find((candidate) => candidate.num === num) as WorkflowPhase;
    return { num, name: phase.name, dir: phaseFolder(num, phase.folder) };
  });
  return definition.workflow_type === BUILT_IN_WORKFLOW
    ? { workflow_type: BUILT_IN_WORKFLOW, execution_mode: chosen, phases }
    : {
        workflow_type: definition.workflow_type,
        workflow_revision: definition.revision,
        execution_mode: chosen,
        phases,
      };
}

function lineProblem(text: string, limit = NAME_LIMIT): string | undefined {
  if (typeof text !== 'string' || text.trim() === '') return 'must not be empty';
  if (hasLoneSurrogate(text))
    return 'contains a lone UTF-16 surrogate, which cannot be stored as UTF-8; send valid Unicode text';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused.
  if (/[\u0000-\u001f\u007f\u0085\u2028\u2029]/.test(text))
    return 'must be one line without control characters';
  if (text.length > limit) return `is ${text.length} characters, over the limit of ${limit}`;
  if (text.trim() === '-') return 'must not be "-"';
  return undefined;
}
