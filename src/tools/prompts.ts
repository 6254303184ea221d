import { completable, ProtocolError } from '@modelcontextprotocol/server';
import * as z from 'zod';
import { identifierProblem } from '../checkpoint/model/identifiers.js';
import { MAX_PHASE_NUM, PHASES } from '../checkpoint/model/phases.js';
import { completions } from './completions.js';
import type { ToolContext } from './deps.js';
import { translate } from './resources.js';

/** MCP answers bad prompt arguments, one that names no session included, with invalid params. */
const INVALID_PARAMS = -32602;

/**
 * Prompts a host can offer its user: resume a session, or review one phase. Each is bounded by
 * --max-prompt-bytes and names, with the get_agent_output call to make, every output it cuts or leaves out.
 */
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
        'Everything an agent needs to continue a session: its state, the next phase and why, requested changes, and the prior outputs that fit.',
      argsSchema: z.object({ project_id: projectId, session_id: sessionId }),
    },
    async (args) =>
      translate(async () =>
        userMessage(
          await checkpoints.resumePrompt({ project_id: args.project_id, session_id: args.session_id }),
        ),
      ),
  );

  server.registerPrompt(
    'review_phase',
    {
      title: 'Review a phase',
      description:
        "A review request for a person: one phase's status, agents, cost and outputs, and how to record the verdict.",
      argsSchema: z.object({
        project_id: projectId,
        session_id: sessionId,
        phase_num: completable(
          z.string().describe("Phase number, one of the session's phases"),
          (value, ctx) =>
            sessionPhases(checkpoints, ctx?.arguments).then((nums) =>
              nums.filter((num) => num.startsWith(value)),
            ),
        ),
      }),
    },
    async (args) =>
      translate(async () => {
        const phaseNum = Number(args.phase_num);
        if (!Number.isInteger(phaseNum) || phaseNum < 1 || phaseNum > MAX_PHASE_NUM) {
          throw new ProtocolError(
            INVALID_PARAMS,
            `INVALID_ARGUMENT: phase_num must be a whole number from 1 to ${MAX_PHASE_NUM}, one of the session's phases, got ${JSON.stringify(args.phase_num)}`,
          );
        }
        return userMessage(
          await checkpoints.reviewPrompt({
            project_id: args.project_id,
            session_id: args.session_id,
            phase_num: phaseNum,
          }),
        );
      }),
  );
}

/** The phase numbers of the session the other arguments name, or the built-in workflow's. */
async function sessionPhases(
  checkpoints: ToolContext['checkpoints'],
  args: Record<string, string> | undefined,
): Promise<string[]> {
  const { project_id: project, session_id: session } = args ?? {};
  if (
    project !== undefined &&
    session !== undefined &&
    !identifierProblem(project) &&
    !identifierProblem(session)
  ) {
    const plan = await checkpoints
      .planOf({ project_id: project, session_id: session })
      .catch(() => undefined);
    if (plan) return plan.phases.map((phase) => String(phase.num));
  }
  return PHASES.map((phase) => String(phase.num));
}

function userMessage(text: string) {
  return { messages: [{ role: 'user' as const, content: { type: 'text' as const, text } }] };
}
