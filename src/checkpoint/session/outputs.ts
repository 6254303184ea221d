import { type AgentOutputRecord, OUTPUT_HEADING, parseAgentOutputHead } from '../formats/agent-output.js';
import { missingVerbatim, splitVerbatim } from '../formats/markdown.js';
import { CheckpointError } from '../model/errors.js';
import { agentNameProblem } from '../model/identifiers.js';
import { phaseDir, type SessionRef } from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import type { Engine, RelPath } from '../store/engine.js';

// A byte order mark before the title (an editor saving "UTF-8 with BOM") is read past, as every head is.
const AGENT_TITLE = /^\uFEFF?# Agent Output:/;

/**
 * The agent outputs of a phase, in name order. Only `{agent_name}.md` files whose first line is an
 * agent output title count: checkpoint, feedback, history and stray notes are not outputs.
 */
export async function readAgentOutputs(
  store: Engine,
  ref: SessionRef,
  phase: PhaseDefinition,
): Promise<AgentOutputRecord[]> {
  const names = (await store.list(phaseDir(ref, phase)))
    .filter((entry) => entry.kind === 'file' && entry.name.endsWith('.md'))
    .map((entry) => entry.name.slice(0, -3))
    .filter((name) => agentNameProblem(name) === undefined)
    .sort(compareNames);
  const read = await inOrder(
    names.map((name) => readOutputFile(store, [...phaseDir(ref, phase), `${name}.md`], true)),
  );
  const outputs: AgentOutputRecord[] = [];
  for (const [i, output] of read.entries()) {
    // The file name is the agent's name everywhere (get_agent_output finds it by that name); a
    // hand-edited Agent line is for validate_checkpoint to report, not to rename the output.
    if (output) outputs.push({ ...output, agent_name: names[i] as string });
  }
  return outputs;
}

/**
 * The CORRUPT_FILE message of every output of the phase that readAgentOutputs (get_phase_outputs,
 * resume_session) cannot read, one for each file but those named in `passed` (read elsewhere): what
 * stops them, for validation to name. Into `misplaced` go those they read as another agent's or
 * phase's output than the file's own head says (a copy kept beside the original, say).
 */
export async function unreadableOutputs(
  store: Engine,
  ref: SessionRef,
  phase: PhaseDefinition,
  passed: ReadonlySet<string> = new Set(),
  misplaced: string[] = [],
): Promise<string[]> {
  const messages: string[] = [];
  let entries: Awaited<ReturnType<Engine['list']>>;
  try {
    entries = await store.list(phaseDir(ref, phase));
  } catch (error) {
    // A phase folder that is a link, say: the phase's other checks name it.
    if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return messages;
    throw error;
  }
  for (const entry of entries) {
    if (entry.kind !== 'file' || !entry.name.endsWith('.md') || passed.has(entry.name)) continue;
    if (agentNameProblem(entry.name.slice(0, -3)) !== undefined) continue;
    const rel = [...phaseDir(ref, phase), entry.name];
    try {
      const output = await readOutputFile(store, rel, true);
      const name = entry.name.slice(0, -3);
      if (output && (output.agent_name !== name || output.phase_num !== phase.num)) {
        misplaced.push(
          `${store.label(rel)}: says Agent ${output.agent_name} of phase ${output.phase_num}, but get_phase_outputs and resume_session give it as agent ${name}'s output of phase ${phase.num} (its file name and folder); rename or move the file, or fix its head`,
        );
      }
    } catch (error) {
      if (!(error instanceof CheckpointError) || error.code !== 'CORRUPT_FILE') throw error;
      messages.push(error.message);
    }
  }
  return messages;
}

/**
 * Awaits reads started together (their disk calls overlap), failing as reading them one after
 * another would: with the error of the first in order that failed.
 */
export async function inOrder<T>(reads: ReadonlyArray<Promise<T>>): Promise<T[]> {
  const settled = await Promise.allSettled(reads);
  return settled.map((result) => {
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  });
}

export async function readAgentOutput(
  store: Engine,
  rel: RelPath,
  notFound: string,
): Promise<AgentOutputRecord> {
  const output = await readOutputFile(store, rel, false);
  if (output === undefined) throw new CheckpointError('NOT_FOUND', notFound);
  return output;
}

/**
 * The body is cut off verbatim; only the head is parsed, and that once per distinct head: the head's
 * text is the identity of its parse, so an output of megabytes is never hashed to find it cached.
 */
async function readOutputFile(
  store: Engine,
  rel: RelPath,
  skipStray: boolean,
): Promise<AgentOutputRecord | undefined> {
  const text = await store.read(rel);
  if (text === undefined || (skipStray && !AGENT_TITLE.test(text))) return undefined;
  const label = store.label(rel);
  const { head, body } = splitVerbatim(text, OUTPUT_HEADING);
  if (body === undefined) throw missingVerbatim(label, text, OUTPUT_HEADING);
  return {
    ...store.parsed.remember(rel, `head:${head}`, () => parseAgentOutputHead(head, label)),
    content: body,
  };
}

/** One agent output file, or undefined when there is none; CORRUPT_FILE when it cannot be understood. */
export function readAgentOutputFile(store: Engine, rel: RelPath): Promise<AgentOutputRecord | undefined> {
  return readOutputFile(store, rel, false);
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
