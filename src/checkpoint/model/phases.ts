import { CheckpointError } from './errors.js';

export const EXECUTION_MODES = ['mvp', 'full'] as const;
export type ExecutionMode = (typeof EXECUTION_MODES)[number];

export const WORKFLOW_TYPES = ['idea_validation'] as const;
export type WorkflowType = (typeof WORKFLOW_TYPES)[number];

export const PHASE_NUMBERS = [1, 2, 3, 4, 5, 6, 7] as const;
export type PhaseNumber = (typeof PHASE_NUMBERS)[number];

export interface PhaseDefinition {
  readonly num: PhaseNumber;
  readonly name: string;
  readonly dir: string;
}

export const PHASES: readonly PhaseDefinition[] = [
  { num: 1, name: 'Concept Expansion', dir: 'phase_1_concept' },
  { num: 2, name: 'Market Research', dir: 'phase_2_market_research' },
  { num: 3, name: 'Niche Selection', dir: 'phase_3_niche_selection' },
  { num: 4, name: 'Product Strategy', dir: 'phase_4_product_strategy' },
  { num: 5, name: 'Business Planning', dir: 'phase_5_business_planning' },
  { num: 6, name: 'Validation', dir: 'phase_6_validation' },
  { num: 7, name: 'Final Synthesis', dir: 'phase_7_synthesis' },
];

const MODE_PHASES: Record<ExecutionMode, readonly PhaseNumber[]> = {
  mvp: [1, 2, 3, 6, 7],
  full: [1, 2, 3, 4, 5, 6, 7],
};

export function phasesOfMode(mode: ExecutionMode): readonly PhaseNumber[] {
  return MODE_PHASES[mode];
}

export function phaseDefinition(num: number): PhaseDefinition {
  const phase = PHASES.find((p) => p.num === num);
  if (!phase) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `phase_num ${num} is not a phase; use a whole number from 1 to 7`,
    );
  }
  return phase;
}

/** The phase, checked against the session's mode: a phase outside the mode never gets a directory. */
export function phaseInMode(mode: ExecutionMode, num: number): PhaseDefinition {
  const phase = phaseDefinition(num);
  if (!MODE_PHASES[mode].includes(phase.num)) {
    throw new CheckpointError(
      'PHASE_NOT_IN_MODE',
      `phase_num ${num} (${phase.name}) is not part of a ${mode} session; its phases are ${MODE_PHASES[mode].join(', ')}`,
    );
  }
  return phase;
}

export function nextPhaseOfMode(mode: ExecutionMode, num: number): PhaseNumber | undefined {
  return MODE_PHASES[mode].find((p) => p > num);
}

export function phaseByDirectory(dir: string): PhaseDefinition | undefined {
  return PHASES.find((p) => p.dir === dir);
}
