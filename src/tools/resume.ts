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
        'Say what to do next in a session and why (not_started, in_progress, failed, retry_requested with the requested changes, next_phase, session_completed), with the prior outputs to read first. Call it first when coming back to a session.',
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
        'One markdown report of a session for people: phase table, Mermaid gantt of phase timings, tokens and cost per agent with totals, the reviews, and links to every file.',
      input: SessionRef,
      output: ExportSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.exportSession(input),
  );
}
