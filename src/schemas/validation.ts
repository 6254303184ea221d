import * as z from 'zod';
import { PhaseNum, ProjectId, SessionId } from './common.js';

export const ValidateCheckpointInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
});

export const ValidationReport = z.object({
  is_valid: z.boolean(),
  errors: z.array(z.string()).describe('Problems that make a file wrong, each naming the file and line.'),
  warnings: z.array(z.string()).describe('Things to look at, such as an output edited by hand.'),
});

export const ValidateSessionOutput = ValidationReport.extend({
  phases: z
    .record(z.string(), ValidationReport)
    .describe('Report of each phase of the mode, keyed by phase number.'),
});
