import {
  CreateSessionInput,
  CreateSessionOutput,
  ListSessionsInput,
  ListSessionsOutput,
  LoadSessionOutput,
  SessionRef,
  StartSessionInput,
  StartSessionOutput,
} from '../schemas/sessions.js';
import { CREATE, defineTool, READ_ONLY, SAVE } from './define.js';
import type { ToolContext } from './deps.js';

export function registerSessionTools(context: ToolContext): void {
  const { checkpoints, projects } = context;
  defineTool(
    context,
    'create_session',
    {
      description:
        'Create a session with your own session_id (and its project if new); repeating it returns it unchanged, other arguments are CONFLICT. Next: save_agent_output.',
      input: CreateSessionInput,
      output: CreateSessionOutput,
      annotations: SAVE,
    },
    (input) => checkpoints.createSession(input),
  );
  defineTool(
    context,
    'start_session',
    {
      description:
        'Start a session of a project (its workflow and mode) with a new time-ordered id. Next: save_agent_output for its first phase.',
      input: StartSessionInput,
      output: StartSessionOutput,
      annotations: CREATE,
    },
    (input) => projects.startSession(input),
  );
  defineTool(
    context,
    'load_session',
    {
      description:
        "Read a session's state: each phase's status, current and next phase, totals (seconds, tokens, US dollars), revision. Next: resume_session.",
      input: SessionRef,
      output: LoadSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.loadSession(input),
  );
  defineTool(
    context,
    'list_sessions',
    {
      description:
        "List a project's sessions, newest first, in pages (cursor = next_cursor). Next: load_session.",
      input: ListSessionsInput,
      output: ListSessionsOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.listSessions(input),
  );
}
