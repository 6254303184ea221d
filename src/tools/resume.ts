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
      title: 'Resume session',
      description:
        'Say what to do next in a session and why (reason, requested_changes), with the prior outputs to read first and their sizes. Call it first when coming back to a session.',
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
      title: 'Export session report',
      description:
        'A markdown report of a session for people: phases, a Mermaid gantt, tokens and cost per agent, reviews, file links.',
      input: SessionRef,
      output: ExportSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.exportSession(input),
  );
}
