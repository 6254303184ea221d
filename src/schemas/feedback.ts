import { z } from 'zod';
import { count, FeedbackAction, PhaseNum, PhaseStatus, ProjectId, SessionId, text } from './common.js';

export const SaveUserFeedbackInput = z.object({
  project_id: ProjectId,
  session_id: SessionId,
  phase_num: PhaseNum,
  reviewed: z
    .boolean({ error: 'reviewed must be true or false' })
    .describe('Whether a person reviewed the phase.'),
  approved: z
    .boolean({ error: 'approved must be true or false' })
    .describe('Whether the reviewer approved the phase.'),
  comments: text(
    'comments',
    'Free text of the reviewer, any markdown, up to 1 MiB; stored verbatim.',
  ).optional(),
  requested_changes: z
    .array(text('requested_changes[]', 'One requested change, one line.'))
    .optional()
    .describe('Changes the reviewer asks for, one line each (at most 1,000).'),
  action: FeedbackAction.optional().describe(
    'approved (default) leaves the status alone; retry_with_changes marks the phase requires_retry; skip_phase marks it skipped.',
  ),
  retry_count: count('retry_count', 'Retry count to record; default +1 on retry_with_changes.').optional(),
});

export const SaveUserFeedbackOutput = z.object({
  phase_num: z.number(),
  action: FeedbackAction,
  phase_status: PhaseStatus.describe('Phase status after this review.'),
});

export const ApprovedPhasesOutput = z.object({
  phases: z.array(z.number()).describe('Phases whose review says Approved: true, in order.'),
});
