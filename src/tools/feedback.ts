import { ApprovedPhasesOutput, SaveUserFeedbackInput, SaveUserFeedbackOutput } from '../schemas/feedback.js';
import { SessionRef } from '../schemas/sessions.js';
import { defineTool, READ_ONLY, SAVE } from './define.js';
import type { ToolContext } from './deps.js';

export function registerFeedbackTools(context: ToolContext): void {
  const { checkpoints } = context;
  defineTool(
    context,
    'save_user_feedback',
    {
      title: 'Save user feedback',
      description:
        'Record a human review of one phase in user_feedback.md. retry_with_changes marks the phase requires_retry, skip_phase marks it skipped, approved leaves its status alone; the manifest follows. Next: load_session to see the next phase.',
      input: SaveUserFeedbackInput,
      output: SaveUserFeedbackOutput,
      annotations: SAVE,
    },
    (input) => checkpoints.saveUserFeedback(input),
  );
  defineTool(
    context,
    'get_approved_phases',
    {
      title: 'Get approved phases',
      description:
        'List the phases whose review says Approved: true (read from the feedback files, never from comments).',
      input: SessionRef,
      output: ApprovedPhasesOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.getApprovedPhases(input),
  );
}
