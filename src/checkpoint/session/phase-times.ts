import { agentOutputFile } from '../formats/checkpoint.js';
import { CheckpointError } from '../model/errors.js';
import { phaseDir, type SessionRef } from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import type { Engine } from '../store/engine.js';
import { readAgentOutputFile } from './outputs.js';

/**
 * The earliest time the server recorded for a phase's agents: each saved output is stamped when it
 * was saved (Executed), and began its reported duration before that. With `since`, only outputs
 * saved after it count (a rerun's attempt, not the attempt before). Undefined when none was saved.
 */
export async function recordedStart(
  store: Engine,
  ref: SessionRef,
  phase: PhaseDefinition,
  agents: ReadonlyArray<{ agent_name: string; output_file?: string | undefined }>,
  since?: string,
): Promise<string | undefined> {
  const after = since === undefined ? Number.NEGATIVE_INFINITY : Date.parse(since);
  let earliest = Number.POSITIVE_INFINITY;
  for (const agent of agents) {
    const file = agent.output_file ?? agentOutputFile({ agent_name: agent.agent_name, status: 'pending' });
    const output = await readAgentOutputFile(store, [...phaseDir(ref, phase), file]).catch(unreadable);
    if (output === undefined) continue;
    const executed = Date.parse(output.executed);
    if (!(executed > after)) continue;
    const began = executed - (output.duration ?? 0) * 1000;
    // A duration reaching back before 1970 is no start anyone recorded: the save time stands.
    earliest = Math.min(earliest, began >= 0 ? began : executed);
  }
  return Number.isFinite(earliest) ? new Date(earliest).toISOString() : undefined;
}

/** An output that cannot be read tells no time; validate_checkpoint reports it. */
function unreadable(error: unknown): undefined {
  if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return undefined;
  throw error;
}
