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
      title: 'Create session',
      description:
        'Create a session with your own session_id (and its project if new). Repeating it returns the session unchanged; other arguments are CONFLICT. Next: save_agent_output, then save_checkpoint.',
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
      title: 'Start session',
      description:
        "Start a new session in a project, with a new time-ordered id and the project's mode. Next: save_agent_output for phase 1.",
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
      title: 'Load session',
      description:
        "Read a session's state: each phase's status, current and next phase, total seconds, tokens and US dollars, manifest revision. Next: resume_session.",
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
      title: 'List sessions',
      description:
        "List a project's sessions newest first; pass next_cursor as cursor for the next page. Next: load_session.",
      input: ListSessionsInput,
      output: ListSessionsOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.listSessions(input),
  );
}
