import * as z from 'zod';
import {
  AgentName,
  AgentStatus,
  amount,
  count,
  line,
  OutputFile,
  PhaseExecutionMode,
  PhaseNum,
  PhaseStatus,
  ProjectId,
  SessionId,
  Timestamp,
} from './common.js';

const AgentEntry = z.strictObject({
  agent_name: AgentName,
  status: AgentStatus,
  output_file: OutputFile.optional(),
  tokens: count('tokens', 'Total tokens; default input + output.').optional(),
  input_tokens: count('input_tokens', 'Prompt tokens.').optional(),
  output_tokens: count('output_tokens', 'Completion tokens.').optional(),
  cost: amount('cost', 'US dollars, at most 10 decimal places.').optional(),
  duration: amount('duration', 'Seconds.').optional(),
});

export const SaveCheckpointInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
  status: PhaseStatus,
  agents: z.array(AgentEntry).describe('At most 1,000, with status and usage.'),
  started: Timestamp.optional().describe("Default: the phase's first save."),
  completed: Timestamp.optional().describe('Default: now, for completed, failed or skipped.'),
  duration: amount('duration', 'Seconds; default completed - started.').optional(),
  execution_mode: PhaseExecutionMode.optional().describe('How the agents ran; default single.'),
  retry_count: count('retry_count', 'Retries so far; default kept.').optional(),
  errors: z.array(line('errors[]')).optional().describe('Errors, one line each.'),
});

export const SaveCheckpointOutput = z.object({
  phase_num: z.number(),
  status: PhaseStatus,
  revision: z.number().describe('Manifest revision after this save.'),
});

export const ListHistoryInput = z.strictObject({
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
