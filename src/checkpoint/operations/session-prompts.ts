import type { Limits } from '../model/limits.js';
import type { SessionRef } from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import { readAgentOutputs } from '../session/outputs.js';
import type { SessionFiles } from '../session/session-files.js';
import { sessionState } from '../session/session-view.js';
import type { Engine } from '../store/engine.js';
import { composePrompt, type PromptOutput } from './prompt-text.js';
import { planResume } from './resume.js';

/** Everything an agent needs to continue a session, within the prompt budget. */
export async function resumePrompt(
  store: Engine,
  files: SessionFiles,
  limits: Limits,
  ref: SessionRef,
): Promise<string> {
  const state = sessionState((await files.load(ref)).manifest);
  const plan = await planResume(store, files, ref);
  const phases = [...new Set(plan.prior_outputs.map((output) => output.phase_num))];
  const { phases: sessionPhases } = await files.planOf(ref);
  const outputs = await outputsOf(
    store,
    ref,
    sessionPhases.filter((phase) => phases.includes(phase.num)),
  );
  const before = [
    `You are resuming session "${ref.session_id}" of project "${ref.project_id}" (${state.workflow_type}, ${state.execution_mode} mode).`,
    `Session status: ${state.status}; completed phases: ${state.completed_phases.join(', ') || 'none'}; manifest revision ${state.revision}.`,
    plan.next_phase === undefined
      ? 'Every phase is completed or skipped.'
      : `Next: phase ${plan.next_phase} (${plan.phase_name}), reason: ${plan.reason}.`,
    plan.instruction,
    ...(plan.requested_changes.length > 0
      ? ['', 'Requested changes from the review:', ...plan.requested_changes.map((change) => `- ${change}`)]
      : []),
  ];
  const after = ['', `Save with project_id "${ref.project_id}" and session_id "${ref.session_id}".`];
  return composePrompt(ref, before, outputs, after, limits.maxPromptBytes);
}

/** A review request for a person: one phase's status, agents, cost and outputs, within the budget. */
export async function reviewPrompt(
  store: Engine,
  files: SessionFiles,
  limits: Limits,
  ref: SessionRef,
  phase: PhaseDefinition,
): Promise<string> {
  const { checkpoints } = await files.load(ref);
  const checkpoint = checkpoints.get(phase.num);
  const agents = checkpoint?.agents
    .map(
      (agent) => `${agent.agent_name} (${agent.status}${agent.cost === undefined ? '' : `, $${agent.cost}`})`,
    )
    .join(', ');
  const before = [
    `Please review phase ${phase.num} (${phase.name}) of session "${ref.session_id}" in project "${ref.project_id}".`,
    checkpoint
      ? `Status: ${checkpoint.status}; retries so far: ${checkpoint.retry_count}; agents: ${agents || 'none'}.`
      : 'No checkpoint has been saved for this phase yet.',
  ];
  const after = [
    '',
    'Answer with one of: approve; request changes (list each change on its own line); skip this phase. Add any comments.',
    `The answer is recorded with save_user_feedback {project_id: "${ref.project_id}", session_id: "${ref.session_id}", phase_num: ${phase.num}, reviewed: true, approved, action: approved | retry_with_changes | skip_phase, requested_changes, comments}.`,
  ];
  const outputs = await outputsOf(store, ref, [phase]);
  return composePrompt(ref, before, outputs, after, limits.maxPromptBytes);
}

async function outputsOf(
  store: Engine,
  ref: SessionRef,
  phases: readonly PhaseDefinition[],
): Promise<PromptOutput[]> {
  const found: PromptOutput[] = [];
  for (const phase of phases) {
    for (const output of await readAgentOutputs(store, ref, phase)) {
      found.push({ phase_num: phase.num, agent_name: output.agent_name, content: output.content });
    }
  }
  return found;
}
