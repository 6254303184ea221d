import { CheckpointError } from './errors.js';
import { type AgentOutputRecord, parseAgentOutput } from './formats/agent-output.js';
import { agentNameProblem } from './identifiers.js';
import { phaseDir, type SessionRef } from './paths.js';
import type { PhaseDefinition } from './phases.js';
import type { Store } from './store.js';

const AGENT_TITLE = /^# Agent Output:/;

/**
 * The agent outputs of a phase, in name order. Only `{agent_name}.md` files whose first line is an
 * agent output title count: checkpoint, feedback, history and stray notes are not outputs.
 */
export async function readAgentOutputs(
  store: Store,
  ref: SessionRef,
  phase: PhaseDefinition,
): Promise<AgentOutputRecord[]> {
  const names = (await store.list(phaseDir(ref, phase)))
    .filter((entry) => entry.kind === 'file' && entry.name.endsWith('.md'))
    .map((entry) => entry.name.slice(0, -3))
    .filter((name) => agentNameProblem(name) === undefined)
    .sort(compareNames);
  const outputs: AgentOutputRecord[] = [];
  for (const name of names) {
    const rel = [...phaseDir(ref, phase), `${name}.md`];
    const text = await store.read(rel);
    if (text === undefined || !AGENT_TITLE.test(text)) continue;
    outputs.push(parseAgentOutput(text, store.label(rel)));
  }
  return outputs;
}

export async function readAgentOutput(
  store: Store,
  rel: readonly string[],
  notFound: string,
): Promise<AgentOutputRecord> {
  const text = await store.read(rel);
  if (text === undefined) throw new CheckpointError('NOT_FOUND', notFound);
  return parseAgentOutput(text, store.label(rel));
}

export function compareNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
