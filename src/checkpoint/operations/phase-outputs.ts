import type { AgentOutputRecord } from '../formats/agent-output.js';
import { encodedSize, fairCap, sliceEnd } from '../model/budget.js';
import { definedOnly } from '../model/define.js';
import { CheckpointError } from '../model/errors.js';
import type { Limits } from '../model/limits.js';
import { agentFile, type SessionRef } from '../model/paths.js';
import { assertPhaseNum, type PhaseDefinition, phaseIn } from '../model/phases.js';
import { inOrder, readAgentOutput, readAgentOutputs } from '../session/outputs.js';
import type { GetAgentOutputRequest, GetPhaseOutputsRequest } from '../session/requests.js';
import type { SessionFiles } from '../session/session-files.js';
import { planOfManifest } from '../session/session-state.js';
import { type Engine, HISTORY_DIR } from '../store/engine.js';

export interface PhaseOutputs {
  outputs: Record<string, Record<string, string>>;
  truncated: Array<{ phase_num: number; agent_name: string; total_chars: number }>;
}

/** Contents of the phases' agent outputs; past the response budget the largest are cut (see truncated). */
export async function getPhaseOutputs(
  store: Engine,
  files: SessionFiles,
  limits: Limits,
  request: GetPhaseOutputsRequest,
): Promise<PhaseOutputs> {
  // A number that is no phase at all is the caller's mistake, whatever state the session is in.
  for (const num of request.phase_nums ?? []) assertPhaseNum(num);
  const { manifest } = await files.load(request);
  const wanted =
    request.phase_nums ??
    manifest.phases.filter((row) => row.status === 'completed').map((row) => row.phase_num);
  const phases = [...new Set(wanted)]
    .sort((a, b) => a - b)
    .map((num) => phaseIn(planOfManifest(manifest), num));
  const byPhase = await inOrder(phases.map((phase) => readAgentOutputs(store, request, phase)));
  const found = byPhase.flatMap((outputs, i) =>
    outputs.map((output) => ({ phase_num: (phases[i] as PhaseDefinition).num, output })),
  );
  const sizes = found.map(({ output }) => encodedSize(output.content));
  const cap = fairCap(sizes, limits.maxResponseBytes);
  const result: PhaseOutputs = { outputs: {}, truncated: [] };
  for (const phase of phases) result.outputs[String(phase.num)] = {};
  for (const [i, { phase_num, output }] of found.entries()) {
    let content = output.content;
    if (cap !== undefined && (sizes[i] as number) > cap) {
      content = content.slice(0, sliceEnd(content, 0, content.length, cap));
      result.truncated.push({ phase_num, agent_name: output.agent_name, total_chars: output.content.length });
    }
    (result.outputs[String(phase_num)] as Record<string, string>)[output.agent_name] = content;
  }
  return result;
}

export interface AgentOutputPage {
  agent_name: string;
  phase_num: number;
  status: AgentOutputRecord['status'];
  model?: string;
  input_tokens?: number;
  output_tokens?: number;
  duration?: number;
  executed: string;
  content: string;
  offset: number;
  total_chars: number;
  next_offset?: number;
  version: number;
}

export interface HistoryEntry {
  file: string;
  version: number;
  saved_at: string;
  path: string;
}

/** One page of one output (current or from history); pages joined give the exact content. */
export async function getAgentOutput(
  store: Engine,
  files: SessionFiles,
  limits: Limits,
  request: GetAgentOutputRequest,
  phaseNum: number,
): Promise<AgentOutputPage> {
  const ref: SessionRef = request;
  const phase = phaseIn(await files.planOf(ref), phaseNum);
  const current = agentFile(ref, phase, request.agent_name);
  const versions = (await store.history(current)).map((entry) => entry.version);
  const latest = Math.max(0, ...versions) + 1;
  const version = request.version ?? latest;
  const rel = version === latest ? current : store.historyFile(current, version);
  const output = await readAgentOutput(
    store,
    rel,
    request.version === undefined
      ? `no output of agent "${request.agent_name}" in phase ${phase.num} of session "${ref.session_id}"; call get_phase_outputs to see which agents saved output`
      : `version ${version} of agent "${request.agent_name}" not found in phase ${phase.num}; call list_history for the versions kept`,
  );
  const offset = request.offset ?? 0;
  const content = output.content;
  if (offset > content.length) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `offset ${offset} is past the end of the content (${content.length} characters)`,
    );
  }
  if (isInsidePair(content, offset)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `offset ${offset} falls inside a surrogate pair; use ${offset - 1} or ${offset + 1}`,
    );
  }
  const maxChars = Math.min(request.max_chars ?? limits.maxResponseBytes, limits.maxResponseBytes);
  const end = sliceEnd(content, offset, maxChars, limits.maxResponseBytes);
  return {
    agent_name: output.agent_name,
    phase_num: phase.num,
    status: output.status,
    executed: output.executed,
    content: content.slice(offset, end),
    offset,
    total_chars: content.length,
    version,
    ...definedOnly({
      model: output.model,
      input_tokens: output.input_tokens,
      output_tokens: output.output_tokens,
      duration: output.duration,
      next_offset: end < content.length ? end : undefined,
    }),
  };
}

export async function listHistory(
  store: Engine,
  phaseRel: readonly string[],
): Promise<{ versions: HistoryEntry[] }> {
  const versions: HistoryEntry[] = [];
  const names = new Set<string>();
  for (const entry of await store.list([...phaseRel, HISTORY_DIR])) {
    const match = /^(.+)\.v(\d+)\.md$/.exec(entry.name);
    if (entry.kind === 'file' && match?.[1]) names.add(match[1]);
  }
  for (const stem of [...names].sort()) {
    for (const version of await store.history([...phaseRel, `${stem}.md`])) {
      versions.push({
        file: `${stem}.md`,
        version: version.version,
        saved_at: version.saved_at,
        path: version.file,
      });
    }
  }
  return { versions };
}

function isInsidePair(text: string, offset: number): boolean {
  const before = text.charCodeAt(offset - 1);
  const at = text.charCodeAt(offset);
  return before >= 0xd800 && before <= 0xdbff && at >= 0xdc00 && at <= 0xdfff;
}
