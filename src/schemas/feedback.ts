import * as z from 'zod';
import { count, FeedbackAction, line, PhaseNum, PhaseStatus, ProjectId, SessionId, text } from './common.js';

export const SaveUserFeedbackInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
  reviewed: z.boolean({ error: 'reviewed must be true or false' }).describe('A person reviewed the phase.'),
  approved: z.boolean({ error: 'approved must be true or false' }).describe('The reviewer approved it.'),
  comments: text('comments', 'Markdown, up to 1 MiB.').optional(),
  requested_changes: z
    .array(line('requested_changes[]'))
    .optional()
    .describe('Requested changes, one line each.'),
  action: FeedbackAction.optional().describe('Default approved.'),
  retry_count: count('retry_count', 'Default: +1 on retry_with_changes.').optional(),
});

export const SaveUserFeedbackOutput = z.object({
  phase_num: z.number(),
  action: FeedbackAction,
  phase_status: PhaseStatus.describe('Phase status after this review.'),
});

export const ApprovedPhasesOutput = z.object({
  phases: z.array(z.number()).describe('Phases whose review says Approved: true, in order.'),
});
