import { z } from 'zod';
import {
  AgentName,
  AgentStatus,
  amount,
  count,
  OutputFile,
  PhaseExecutionMode,
  PhaseNum,
  PhaseStatus,
  ProjectId,
  SessionId,
  Timestamp,
  text,
} from './common.js';

const AgentEntry = z.object({
  agent_name: AgentName,
  status: AgentStatus,
  output_file: OutputFile.optional(),
  tokens: count('tokens', 'Total tokens of this agent; default input_tokens + output_tokens.').optional(),
  input_tokens: count('input_tokens', 'Input (prompt) tokens.').optional(),
  output_tokens: count('output_tokens', 'Output (completion) tokens.').optional(),
  cost: amount('cost', 'Cost of this agent run, US dollars.').optional(),
  duration: amount('duration', 'Run time of this agent, seconds.').optional(),
});

export const SaveCheckpointInput = z.object({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
  status: PhaseStatus,
  agents: z
    .array(AgentEntry)
    .describe('Agents of the phase (at most 1,000), each with its status and usage.'),
  started: Timestamp.optional().describe(
    'When the phase started (RFC 3339); default: kept from the last checkpoint, else now.',
  ),
  completed: Timestamp.optional().describe(
    'When the phase ended (RFC 3339); default now for completed, failed or skipped.',
  ),
  duration: amount('duration', 'Phase duration, seconds; default completed - started.').optional(),
  execution_mode: PhaseExecutionMode.optional().describe(
    'How the agents ran: single (default), parallel, sequential_interactive.',
  ),
  retry_count: count(
    'retry_count',
    'Retries of this phase so far; default kept from the last checkpoint.',
  ).optional(),
  errors: z
    .array(text('errors[]', 'One error, one line.'))
    .optional()
    .describe('Errors of the phase, one line each.'),
});

export const SaveCheckpointOutput = z.object({
  phase_num: z.number(),
  status: PhaseStatus,
  revision: z.number().describe('Manifest revision after this save.'),
});

export const ListHistoryInput = z.object({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
});

export const ListHistoryOutput = z.object({
  versions: z
    .array(
      z.object({
        file: z
          .string()
          .describe('Document the version belongs to, such as checkpoint.md or concept_expansion.md.'),
        version: z.number().describe('Version number, from 1; pass it as version to get_agent_output.'),
        saved_at: Timestamp.describe('When this version was written.'),
        path: z.string().describe('Path of the kept version, relative to the base directory.'),
      }),
    )
    .describe('Earlier versions kept in the phase history/ folder, by document then version.'),
});
