import { type AgentEntry, agentOutputFile, type CheckpointRecord } from '../formats/checkpoint.js';
import { parseUserFeedback } from '../formats/user-feedback.js';
import { CheckpointError } from '../model/errors.js';
import { checkpointFile, feedbackFile, type SessionRef } from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import { isPhaseDone } from '../model/vocabulary.js';
import { readAgentOutputs } from '../session/outputs.js';
import type { SessionFiles } from '../session/session-files.js';
import { planOfManifest } from '../session/session-state.js';
import type { Engine } from '../store/engine.js';

export const RESUME_REASONS = [
  'not_started',
  'in_progress',
  'failed',
  'retry_requested',
  'next_phase',
  'session_completed',
] as const;
export type ResumeReason = (typeof RESUME_REASONS)[number];

export interface PriorOutput {
  phase_num: number;
  agent_name: string;
  chars: number;
}

export interface ResumePlan {
  next_phase?: number;
  phase_name?: string;
  reason: ResumeReason;
  requested_changes: string[];
  prior_outputs: PriorOutput[];
  instruction: string;
}

/**
 * What to do next in a session, and what to read first. It never guesses: a file it cannot read is
 * an error, not a fallback to an older state.
 */
export async function planResume(store: Engine, files: SessionFiles, ref: SessionRef): Promise<ResumePlan> {
  const { manifest, checkpoints } = await files.load(ref);
  const { phases } = planOfManifest(manifest);
  const next = phases.find((phase) => !isPhaseDone(checkpoints.get(phase.num)?.status ?? 'pending'));
  const unread = await unreadableReviews(store, ref, phases);
  if (next === undefined) {
    const prior = await priorOutputs(store, ref, phases);
    return {
      reason: 'session_completed',
      requested_changes: [],
      prior_outputs: prior,
      instruction: `Every phase is completed or skipped: call export_session for the report; nothing is left to run.${missingOutputs(phases, checkpoints, prior)}${unread}`,
    };
  }
  const status = checkpoints.get(next.num)?.status ?? 'pending';
  const before = phases.filter(
    (phase) => phase.num < next.num && checkpoints.get(phase.num)?.status === 'completed',
  );
  const prior = await priorOutputs(store, ref, [...before, next]);
  // A rerun the review asked for keeps its changes while it runs (in progress, or failed again), until
  // the phase is done or another review replaces them.
  const rerun = status === 'requires_retry' || status === 'in_progress' || status === 'failed';
  const review = rerun ? await reviewOf(store, ref, next) : undefined;
  const requested =
    review !== undefined && (status === 'requires_retry' || review.action === 'retry_with_changes')
      ? review.requested_changes
      : [];
  const reason: ResumeReason =
    status === 'requires_retry'
      ? 'retry_requested'
      : status === 'failed'
        ? 'failed'
        : status === 'in_progress'
          ? 'in_progress'
          : checkpoints.size === 0
            ? 'not_started'
            : 'next_phase';
  const target = `phase ${next.num} (${next.name})`;
  // get_phase_outputs reads only completed phases by default: name the phases, this one's attempt included.
  const priorPhases = [...new Set(prior.map((output) => output.phase_num))];
  const read =
    prior.length > 0
      ? `read the prior outputs with get_phase_outputs (phase_nums [${priorPhases.join(', ')}]), then `
      : '';
  const changes =
    requested.length === 0
      ? 'as its review asks (the review lists no changes: its comments say what to do)'
      : `applying the ${requested.length} requested change${requested.length === 1 ? '' : 's'}`;
  const forReview = requested.length > 0 && status !== 'requires_retry' ? `, ${changes} of its review` : '';
  const instructions: Record<Exclude<ResumeReason, 'session_completed'>, string> = {
    not_started: `Start ${target}: ${read}save each agent's result with save_agent_output and call save_checkpoint.`,
    in_progress: continueInstruction(
      `${target}, which was in progress${forReview}`,
      read,
      checkpoints.get(next.num)?.agents ?? [],
      new Set(prior.filter((output) => output.phase_num === next.num).map((output) => output.agent_name)),
    ),
    failed: `Rerun ${target}, which failed${forReview}: ${read}save each agent's new output with save_agent_output and call save_checkpoint.`,
    retry_requested: `Rerun ${target} ${changes}: ${read}save each agent's revised output with save_agent_output and call save_checkpoint.`,
    next_phase: `Run ${target}: ${read}save each agent's result with save_agent_output and call save_checkpoint.`,
  };
  return {
    next_phase: next.num,
    phase_name: next.name,
    reason,
    requested_changes: requested,
    prior_outputs: prior,
    instruction: `${instructions[reason]}${missingOutputs(before, checkpoints, prior)}${unread}`,
  };
}

/**
 * A sentence naming the reviews written after their phase's checkpoint (or for a phase without one)
 * that cannot be read, or nothing. Such a review would set its phase's status, so a person edited it by
 * hand to decide something; unreadable, it decides nothing, and its phase goes on as if unreviewed.
 */
async function unreadableReviews(
  store: Engine,
  ref: SessionRef,
  phases: readonly PhaseDefinition[],
): Promise<string> {
  const unread: string[] = [];
  for (const phase of phases) {
    const rel = feedbackFile(ref, phase);
    const reviewed = await store.modifiedMs(rel).catch(corruptAsUndefined);
    if (reviewed === undefined) continue;
    const written = await store.modifiedMs(checkpointFile(ref, phase));
    if (written !== undefined && reviewed <= written) continue;
    try {
      await store.parsed.read(rel, parseUserFeedback);
    } catch (error) {
      if (!(error instanceof CheckpointError && error.code === 'CORRUPT_FILE')) throw error;
      unread.push(`${phase.dir}/user_feedback.md`);
    }
  }
  if (unread.length === 0) return '';
  return ` Unreadable: ${unread.join(', ')}, a review written after its phase's checkpoint, edited by hand, which changes nothing until it is fixed (validate_checkpoint names the line) or saved again with save_user_feedback; ask the person who reviewed before going on.`;
}

/** A link planted at a review's name reads as no review here; validation names it. */
function corruptAsUndefined(error: unknown): undefined {
  if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return undefined;
  throw error;
}

/**
 * A sentence naming the outputs that completed phases list as saved but that are not there (deleted or
 * moved by hand), or nothing: the prior outputs would otherwise lack them unannounced.
 */
function missingOutputs(
  phases: readonly PhaseDefinition[],
  checkpoints: ReadonlyMap<number, CheckpointRecord>,
  prior: readonly PriorOutput[],
): string {
  const missing: string[] = [];
  for (const phase of phases) {
    const checkpoint = checkpoints.get(phase.num);
    if (checkpoint?.status !== 'completed') continue;
    for (const agent of checkpoint.agents) {
      const file = agentOutputFile(agent);
      const found = prior.some(
        (output) => output.phase_num === phase.num && `${output.agent_name}.md` === file,
      );
      if (agent.status === 'completed' && !found) missing.push(`${phase.dir}/${file}`);
    }
  }
  if (missing.length === 0) return '';
  const shown = missing.slice(0, NAMES_SHOWN).join(', ');
  const more = missing.length > NAMES_SHOWN ? ` and ${missing.length - NAMES_SHOWN} more` : '';
  return ` Missing: ${shown}${more}, an output of a completed agent of its checkpoint; restore it from the phase's history/ (list_history) or save it with save_agent_output.`;
}

/** Agents named in an instruction; the rest are counted. */
const NAMES_SHOWN = 10;

/**
 * What to do in a phase that was in progress: save the outputs of the agents its checkpoint lists as not
 * done (or done without an output saved), naming them; when every agent it lists is done and saved, run
 * the next agent or record the phase finished.
 */
function continueInstruction(
  target: string,
  read: string,
  agents: readonly AgentEntry[],
  saved: ReadonlySet<string>,
): string {
  const left = agents
    .filter(
      (agent) => agent.status !== 'skipped' && (agent.status !== 'completed' || !saved.has(agent.agent_name)),
    )
    .map((agent) => agent.agent_name);
  if (agents.length === 0)
    return `Continue ${target}: ${read}save the missing agent outputs with save_agent_output and call save_checkpoint.`;
  if (left.length === 0)
    return `Continue ${target}: every agent its checkpoint lists is done and saved; ${read}save the next agent's output with save_agent_output, or, with no agent left to run, call save_checkpoint with status completed.`;
  const shown = left.slice(0, NAMES_SHOWN).join(', ');
  const more = left.length > NAMES_SHOWN ? ` and ${left.length - NAMES_SHOWN} more` : '';
  return `Continue ${target}: ${read}save the outputs of the agents not done yet (${shown}${more}) with save_agent_output and call save_checkpoint.`;
}

async function priorOutputs(
  store: Engine,
  ref: SessionRef,
  phases: readonly PhaseDefinition[],
): Promise<PriorOutput[]> {
  const found: PriorOutput[] = [];
  for (const phase of phases) {
    for (const output of await readAgentOutputs(store, ref, phase)) {
      found.push({ phase_num: phase.num, agent_name: output.agent_name, chars: output.content.length });
    }
  }
  return found;
}

async function reviewOf(store: Engine, ref: SessionRef, phase: PhaseDefinition) {
  const rel = feedbackFile(ref, phase);
  const text = await store.read(rel);
  return text === undefined ? undefined : parseUserFeedback(text, store.label(rel));
}
