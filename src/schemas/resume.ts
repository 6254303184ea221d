import * as z from 'zod';
import { RESUME_REASONS } from '../checkpoint/operations/resume.js';

export const ResumeSessionOutput = z.object({
  next_phase: z.number().optional().describe('Phase to run now; absent when the session is completed.'),
  phase_name: z.string().optional(),
  reason: z
    .enum(RESUME_REASONS)
    .describe(
      'not_started: nothing checkpointed yet; in_progress: the phase was interrupted; failed: it failed; retry_requested: a review asked for changes; next_phase: the previous phases are done; session_completed: nothing left.',
    ),
  requested_changes: z
    .array(z.string())
    .describe('Changes asked for by the review, when reason is retry_requested.'),
  prior_outputs: z
    .array(
      z.object({
        phase_num: z.number(),
        agent_name: z.string(),
        chars: z.number().describe('Length in UTF-16 code units.'),
      }),
    )
    .describe("Outputs to read before working: completed earlier phases and this phase's earlier attempt."),
  instruction: z.string().describe('One sentence: what to do next and which tools to call.'),
});

export const ExportSessionOutput = z.object({
  markdown: z
    .string()
    .describe(
      'Session report: phase table, Mermaid gantt of phase timings, per-agent tokens and cost with totals, reviews, links to the files.',
    ),
});
