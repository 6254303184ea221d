import { encodedSize, fairCap, sliceEnd } from '../model/budget.js';
import type { SessionRef } from '../model/paths.js';

export interface PromptOutput {
  phase_num: number;
  agent_name: string;
  content: string;
}

/** An excerpt shorter than this tells a model little; the output is listed for reading instead. */
const SMALLEST_EXCERPT = 2048;

/**
 * A prompt of `before`, as many of `outputs` as fit, then `after`, in at most `maxBytes` (measured
 * JSON-encoded, as the prompt travels). A prompt lands whole in a model's context, unlike a tool
 * result an agent pages through: what does not fit is cut or left out, and each such output is named
 * with the exact get_agent_output call that reads on from where the prompt stopped.
 */
export function composePrompt(
  ref: SessionRef,
  before: readonly string[],
  outputs: readonly PromptOutput[],
  after: readonly string[],
  maxBytes: number,
): string {
  const fixed = encodedSize([...before, ...after].join('\n')) + 2;
  const sizes = outputs.map((output) => encodedSize(output.content));
  // Room for every heading and note, counted as if each output were cut.
  const notes = outputs.map((output) => encodedSize(cutHeading(ref, output, output.content.length)) + 8);
  const listing = notes.reduce((sum, size) => sum + size, 0) + 200;
  const room = Math.max(0, maxBytes - fixed - listing);
  // Each output gets up to a fair share, and never a share too small to tell anything: past the
  // room left, the rest are listed for reading instead.
  const cap = fairCap(sizes, room);
  const share = cap === undefined ? Number.POSITIVE_INFINITY : Math.max(cap, SMALLEST_EXCERPT);
  let left = room;
  const inline: string[] = [];
  const leftOut: PromptOutput[] = [];
  for (const [i, output] of outputs.entries()) {
    const size = sizes[i] as number;
    const excerpt = Math.min(share, left);
    if (size <= excerpt) {
      inline.push('', `--- Phase ${output.phase_num} output of ${output.agent_name} ---`, output.content);
      left -= size;
    } else if (excerpt >= SMALLEST_EXCERPT) {
      const end = sliceEnd(output.content, 0, output.content.length, excerpt);
      inline.push('', cutHeading(ref, output, end), output.content.slice(0, end));
      left -= encodedSize(output.content.slice(0, end));
    } else {
      leftOut.push(output);
    }
  }
  const lines = [...before, ...inline, ...leftOutLines(ref, leftOut, maxBytes - fixed), ...after];
  return lines.join('\n');
}

function cutHeading(ref: SessionRef, output: PromptOutput, end: number): string {
  return `--- Phase ${output.phase_num} output of ${output.agent_name}: the first ${end} of ${output.content.length} characters; read on with get_agent_output ${readCall(ref, output, end)} ---`;
}

/** The outputs not inlined, each with its call, as many as the room allows, then a count of the rest. */
function leftOutLines(ref: SessionRef, outputs: readonly PromptOutput[], room: number): string[] {
  if (outputs.length === 0) return [];
  const lines = [
    '',
    `Not included here (too large for this prompt; ${outputs.length} output${outputs.length === 1 ? '' : 's'}), read each with get_agent_output:`,
  ];
  let used = encodedSize(lines.join('\n'));
  for (const [i, output] of outputs.entries()) {
    const line = `- Phase ${output.phase_num}, ${output.agent_name} (${output.content.length} characters): get_agent_output ${readCall(ref, output, 0)}`;
    const size = encodedSize(line) + 2;
    if (used + size > room - 200) {
      lines.push(
        `- and ${outputs.length - i} more: the resume_session tool lists every prior output (prior_outputs) with its size.`,
      );
      break;
    }
    lines.push(line);
    used += size;
  }
  return lines;
}

function readCall(ref: SessionRef, output: PromptOutput, offset: number): string {
  return JSON.stringify({
    project_id: ref.project_id,
    session_id: ref.session_id,
    phase_num: output.phase_num,
    agent_name: output.agent_name,
    offset,
  });
}
