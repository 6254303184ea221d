import { ExportSessionOutput, ResumeSessionOutput } from '../schemas/resume.js';
import { SessionRef } from '../schemas/sessions.js';
import { defineTool, READ_ONLY } from './define.js';
import type { ToolContext } from './deps.js';

export function registerResumeTools(context: ToolContext): void {
  const { checkpoints } = context;
  defineTool(
    context,
    'resume_session',
    {
      description:
        'Call it first when coming back to a session: what to do next and why (reason, requested_changes), and the prior outputs to read, with sizes.',
      input: SessionRef,
      output: ResumeSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.resumeSession(input),
  );
  defineTool(
    context,
    'export_session',
    {
      description:
        'A markdown report of a session for people: phases, a Mermaid gantt, tokens and cost per agent, reviews.',
      input: SessionRef,
      output: ExportSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.exportSession(input),
  );
}
