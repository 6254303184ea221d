import * as z from 'zod';
import {
  AgentName,
  AgentStatus,
  amount,
  count,
  line,
  PhaseNum,
  ProjectId,
  SessionId,
  Timestamp,
  text,
} from './common.js';

export const SaveAgentOutputInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
  agent_name: AgentName,
  output_content: text('output_content', 'Any text, up to 4 MiB by default.'),
  status: AgentStatus.optional().describe('Default completed.'),
  duration: amount('duration', 'Seconds.').optional(),
  model: text('model', 'Model id.').optional(),
  input_tokens: count('input_tokens', 'Prompt tokens.').optional(),
  output_tokens: count('output_tokens', 'Completion tokens.').optional(),
  tools_used: z.array(line('tools_used[]')).optional().describe('Tools the agent called.'),
  error_type: text('error_type', 'Error class of a failed run.').optional(),
  error_message: text('error_message', 'Error message, one line.').optional(),
  stack_trace: text('stack_trace', 'Stack trace of a failed run.').optional(),
});

export const SaveAgentOutputOutput = z.object({
  phase_num: z.number(),
  agent_name: z.string(),
  file: z.string().describe('Output file, relative to the base directory.'),
  sha256: z.string().describe('SHA-256 of the UTF-8 content, hex.'),
});

export const GetPhaseOutputsInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  phase_nums: z.array(PhaseNum).optional().describe('Default: the completed phases.'),
});

export const GetPhaseOutputsOutput = z.object({
  outputs: z
    .record(z.string(), z.record(z.string(), z.string()))
    .describe('Content by phase number, then by agent name (name order).'),
  truncated: z
    .array(z.object({ phase_num: z.number(), agent_name: z.string(), total_chars: z.number() }))
    .describe('Outputs cut to fit the response budget; read them whole with get_agent_output pages.'),
});

export const GetAgentOutputInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
  agent_name: AgentName,
  version: count('version', 'From list_history; default current.')
    .min(1, { error: 'version must be >= 1' })
    .optional(),
  offset: count('offset', 'Page start, UTF-16 code units; default 0.').optional(),
  max_chars: count('max_chars', 'Most characters to return.')
    .min(1, { error: 'max_chars must be >= 1' })
    .optional(),
});

export const GetAgentOutputOutput = z.object({
  agent_name: z.string(),
  phase_num: z.number(),
  status: AgentStatus,
  model: z.string().optional(),
  input_tokens: z.number().optional(),
  output_tokens: z.number().optional(),
  duration: z.number().optional().describe('Seconds.'),
  executed: Timestamp,
  content: z.string().describe('The content from offset; join pages in order to get it exactly.'),
  offset: z.number(),
  total_chars: z.number().describe('Length of the whole content in UTF-16 code units.'),
  next_offset: z.number().optional().describe('Offset of the next page; absent on the last page.'),
  version: z.number().describe('Version read; the current one is the highest.'),
});
