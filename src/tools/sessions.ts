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
        'Create a session with your own session_id: its directory, the phase directories of its mode and the manifest; creates project.md if the project is new. Repeating it with the same arguments returns the session unchanged (it never resets progress); different arguments are CONFLICT. Next: save_agent_output, then save_checkpoint.',
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
        "Start a new session in an existing project, with a time-ordered UUIDv7 id and the project's mode. Next: save_agent_output for phase 1.",
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
        'Read the state of a session: status of every phase, current and next phase, totals of duration, tokens and cost. Rebuilds a lost or stale manifest from the checkpoints. Next: get_phase_outputs for earlier work, then continue with next_phase.',
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
        'List the sessions of a project newest first, optionally only in_progress or completed ones. Pages of `limit` (default 50); pass next_cursor as cursor for the next page. Next: load_session.',
      input: ListSessionsInput,
      output: ListSessionsOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.listSessions(input),
  );
}
