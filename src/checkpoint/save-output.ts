import { createHash } from 'node:crypto';
import { renderAgentOutput } from './formats/agent-output.js';
import { type ManagerContext, sessionRef } from './manager-context.js';
import { definedOnly } from './model/define.js';
import { CheckpointError } from './model/errors.js';
import { assertIdentifier } from './model/identifiers.js';
import { agentFile, phaseDir, type SessionRef } from './model/paths.js';
import { type PhaseDefinition, phaseIn } from './model/phases.js';
import { validateAgentOutput } from './session/request-checks.js';
import type { SaveAgentOutputRequest } from './session/requests.js';

/** One agent's output, byte for byte; the version it replaces goes to history/. */
export async function saveAgentOutput(
  ctx: ManagerContext,
  request: SaveAgentOutputRequest,
): Promise<{ phase_num: number; agent_name: string; file: string; sha256: string }> {
  const ref = sessionRef(request);
  assertIdentifier('agent_name', request.agent_name);
  const checked = validateAgentOutput(request, ctx.limits);
  const phase = phaseIn(await ctx.planOf(ref), request.phase_num);
  const file = agentFile(ref, phase, request.agent_name);
  // An empty listing may be a phase folder deleted by hand: it is made again.
  if (!(await assertNoCaseTwin(ctx, ref, phase, request.agent_name)))
    await ctx.store.ensureDirectory(phaseDir(ref, phase));
  const sha256 = createHash('sha256').update(request.output_content, 'utf8').digest('hex');
  const text = renderAgentOutput({
    agent_name: request.agent_name,
    phase_num: phase.num,
    phase_name: phase.name,
    executed: ctx.clock().toISOString(),
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
  await ctx.store.write(file, text, { keepHistory: true });
  return { phase_num: phase.num, agent_name: request.agent_name, file: ctx.store.label(file), sha256 };
}

/** Returns whether the phase folder has any entries. */
async function assertNoCaseTwin(
  ctx: ManagerContext,
  ref: SessionRef,
  phase: PhaseDefinition,
  agentName: string,
): Promise<boolean> {
  const wanted = `${agentName}.md`;
  const entries = await ctx.store.list(phaseDir(ref, phase));
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
