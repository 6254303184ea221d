import { ApprovedPhasesOutput, SaveUserFeedbackInput, SaveUserFeedbackOutput } from '../schemas/feedback.js';
import { SessionRef } from '../schemas/sessions.js';
import { defineTool, READ_ONLY, REVIEW } from './define.js';
import type { ToolContext } from './deps.js';

export function registerFeedbackTools(context: ToolContext): void {
  const { checkpoints } = context;
  defineTool(
    context,
    'save_user_feedback',
    {
      description:
        'Record a human review of one phase in user_feedback.md; returns the phase status it leaves. Next: resume_session.',
      input: SaveUserFeedbackInput,
      output: SaveUserFeedbackOutput,
      annotations: REVIEW,
    },
    (input) => checkpoints.saveUserFeedback(input),
  );
  defineTool(
    context,
    'get_approved_phases',
    {
      description: 'List the phases whose review says Approved: true.',
      input: SessionRef,
      output: ApprovedPhasesOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.getApprovedPhases(input),
  );
}
