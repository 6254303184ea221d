import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { completions } from './completions.js';
import type { ToolContext } from './deps.js';
import { translate } from './resources.js';

/** MCP answers bad prompt arguments, one that names no session included, with invalid params. */
const INVALID_PARAMS = -32602;

/** Prompts a host can offer its user: resume a session, or review one phase. */
export function registerPrompts(context: ToolContext): void {
  const { server, checkpoints } = context;
  const complete = completions(checkpoints.store);
  const projectId = completable(
    z.string().describe('Project id'),
    (value) => complete.project_id?.(value) ?? [],
  );
  const sessionId = completable(
    z.string().describe('Session id'),
    (value, ctx) => complete.session_id?.(value, ctx) ?? [],
  );

  server.registerPrompt(
    'resume_session',
    {
      title: 'Resume a session',
      description:
        'Everything an agent needs to continue a session: its state, the next phase and why, requested changes, and the prior outputs.',
      argsSchema: { project_id: projectId, session_id: sessionId },
    },
    async (args) =>
      translate(async () => {
        const ref = { project_id: args.project_id, session_id: args.session_id };
        const state = await checkpoints.loadSession(ref);
        const plan = await checkpoints.resumeSession(ref);
        const phases = [...new Set(plan.prior_outputs.map((output) => output.phase_num))];
        const outputs =
          phases.length > 0 ? await checkpoints.getPhaseOutputs({ ...ref, phase_nums: phases }) : undefined;
        const lines = [
          `You are resuming session "${ref.session_id}" of project "${ref.project_id}" (${state.workflow_type}, ${state.execution_mode} mode).`,
          `Session status: ${state.status}; completed phases: ${state.completed_phases.join(', ') || 'none'}; manifest revision ${state.revision}.`,
          plan.next_phase === undefined
            ? 'Every phase is completed or skipped.'
            : `Next: phase ${plan.next_phase} (${plan.phase_name}), reason: ${plan.reason}.`,
          plan.instruction,
          ...(plan.requested_changes.length > 0
            ? [
                '',
                'Requested changes from the review:',
                ...plan.requested_changes.map((change) => `- ${change}`),
              ]
            : []),
          ...outputSections(outputs),
          `Save with project_id "${ref.project_id}" and session_id "${ref.session_id}".`,
        ];
        return {
          messages: [{ role: 'user' as const, content: { type: 'text' as const, text: lines.join('\n') } }],
        };
      }, INVALID_PARAMS),
  );

  server.registerPrompt(
    'review_phase',
    {
      title: 'Review a phase',
      description:
        "A review request for a person: one phase's status, agents, cost and outputs, and how to record the verdict.",
      argsSchema: {
        project_id: projectId,
        session_id: sessionId,
        phase_num: completable(z.string().describe('Phase number, 1 to 7'), (value) =>
          ['1', '2', '3', '4', '5', '6', '7'].filter((num) => num.startsWith(value)),
        ),
      },
    },
    async (args) =>
      translate(async () => {
        const ref = { project_id: args.project_id, session_id: args.session_id };
        const phaseNum = Number(args.phase_num);
        if (!Number.isInteger(phaseNum) || phaseNum < 1 || phaseNum > 7) {
          throw new McpError(
            INVALID_PARAMS,
            `phase_num must be a whole number from 1 to 7, got ${JSON.stringify(args.phase_num)}`,
          );
        }
        const phase = await checkpoints.phaseOf({ ...ref, phase_num: phaseNum });
        const { checkpoints: records } = await checkpoints.snapshot(ref);
        const checkpoint = records.get(phase.num);
        const outputs = await checkpoints.getPhaseOutputs({ ...ref, phase_nums: [phase.num] });
        const lines = [
          `Please review phase ${phase.num} (${phase.name}) of session "${ref.session_id}" in project "${ref.project_id}".`,
          checkpoint
            ? `Status: ${checkpoint.status}; retries so far: ${checkpoint.retry_count}; agents: ${checkpoint.agents.map((agent) => `${agent.agent_name} (${agent.status}${agent.cost === undefined ? '' : `, $${agent.cost}`})`).join(', ') || 'none'}.`
            : 'No checkpoint has been saved for this phase yet.',
          ...outputSections(outputs),
          '',
          'Answer with one of: approve; request changes (list each change on its own line); skip this phase. Add any comments.',
          `The answer is recorded with save_user_feedback {project_id: "${ref.project_id}", session_id: "${ref.session_id}", phase_num: ${phase.num}, reviewed: true, approved, action: approved | retry_with_changes | skip_phase, requested_changes, comments}.`,
        ];
        return {
          messages: [{ role: 'user' as const, content: { type: 'text' as const, text: lines.join('\n') } }],
        };
      }, INVALID_PARAMS),
  );
}

function outputSections(
  outputs:
    | {
        outputs: Record<string, Record<string, string>>;
        truncated: Array<{ phase_num: number; agent_name: string; total_chars: number }>;
      }
    | undefined,
): string[] {
  if (!outputs) return [];
  const lines: string[] = [];
  for (const [phase, agents] of Object.entries(outputs.outputs)) {
    for (const [agent, content] of Object.entries(agents)) {
      const cut = outputs.truncated.find(
        (entry) => String(entry.phase_num) === phase && entry.agent_name === agent,
      );
      lines.push(
        '',
        `--- Phase ${phase} output of ${agent}${cut ? ` (first ${content.length} of ${cut.total_chars} characters; read the rest with get_agent_output)` : ''} ---`,
        content,
      );
    }
  }
  return lines;
}
