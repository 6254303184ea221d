import { renderAgentOutput } from './formats/agent-output.js';
import { type ManagerContext, sessionRef } from './manager-context.js';
import { sha256 } from './model/digest.js';
import { CheckpointError } from './model/errors.js';
import { assertIdentifier } from './model/identifiers.js';
import { agentFile, manifestFile, type RelPath, type SessionRef } from './model/paths.js';
import { type PhaseDefinition, phaseIn, type SessionPlan } from './model/phases.js';
import { type CheckedAgentOutput, validateAgentOutput } from './session/request-checks.js';
import type { SaveAgentOutputRequest } from './session/requests.js';
import { StaleStampError } from './store/engine.js';

type Saved = { phase_num: number; agent_name: string; file: string; sha256: string };

/** One agent's output, byte for byte; the version it replaces goes to history/. */
export async function saveAgentOutput(ctx: ManagerContext, request: SaveAgentOutputRequest): Promise<Saved> {
  const ref = sessionRef(request);
  assertIdentifier('agent_name', request.agent_name);
  const checked = { ...validateAgentOutput(request, ctx.limits), executed: ctx.clock().toISOString() };
  // The phases this process last read are trusted for the write if the manifest has not changed since,
  // which the write itself checks (no round trip of its own on PostgreSQL). Anything else asks first.
  const remembered = ctx.files.rememberedPlan(ref);
  if (remembered?.plan.phases.some((phase) => phase.num === request.phase_num)) {
    try {
      const unchanged = { rel: manifestFile(ref), stamp: remembered.stamp };
      return await save(ctx, request, checked, ref, remembered.plan, unchanged);
    } catch (error) {
      if (!(error instanceof StaleStampError)) throw error;
    }
  }
  return save(ctx, request, checked, ref, await ctx.planOf(ref));
}

async function save(
  ctx: ManagerContext,
  request: SaveAgentOutputRequest,
  checked: CheckedAgentOutput & { executed: string },
  ref: SessionRef,
  plan: SessionPlan,
  unchanged?: { rel: RelPath; stamp: string },
): Promise<Saved> {
  const phase = phaseIn(plan, request.phase_num);
  const file = agentFile(ref, phase, request.agent_name);
  const digest = sha256(request.output_content, 'hex');
  const text = renderAgentOutput({
    agent_name: request.agent_name,
    phase_num: phase.num,
    phase_name: phase.name,
    executed: checked.executed,
    status: request.status ?? 'completed',
    tools_used: checked.tools_used,
    sha256: digest,
    content: request.output_content,
    // The renderer writes an absent field and an undefined one alike: no copy without the undefined ones.
    duration: request.duration,
    model: checked.model,
    input_tokens: request.input_tokens,
    output_tokens: request.output_tokens,
    error_type: checked.error_type,
    error_message: checked.error_message,
    stack_trace: checked.stack_trace,
  });
  await ctx.store.write(file, text, {
    keepHistory: true,
    // A phase folder deleted by hand is made again.
    createFolder: true,
    refuseCaseTwin: (twin) => caseTwinConflict(request.agent_name, twin, phase),
    ...(unchanged && { unchanged }),
  });
  return {
    phase_num: phase.num,
    agent_name: request.agent_name,
    file: ctx.store.label(file),
    sha256: digest,
  };
}

function caseTwinConflict(agentName: string, twin: string, phase: PhaseDefinition): CheckpointError {
  return new CheckpointError(
    'CONFLICT',
    `agent_name "${agentName}" differs only in letter case from the existing ${twin} in phase ${phase.num}; the two files would collide on macOS and Windows. Use "${twin.slice(0, -3)}" or another name`,
  );
}
