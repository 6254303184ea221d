import { z } from 'zod';
import {
  agentNameProblem,
  IDENTIFIER_RULE,
  identifierProblem,
  outputFileProblem,
} from '../checkpoint/identifiers.js';
import { EXECUTION_MODES, WORKFLOW_TYPES } from '../checkpoint/phases.js';
import {
  AGENT_STATUSES,
  FEEDBACK_ACTIONS,
  PHASE_EXECUTION_MODES,
  PHASE_STATUSES,
  SESSION_STATUSES,
} from '../checkpoint/vocabulary.js';

function identifier(field: string, description: string, problem = identifierProblem) {
  return z
    .string({ error: `${field} must be a string: ${IDENTIFIER_RULE}` })
    .min(1, { error: `${field} must not be empty: ${IDENTIFIER_RULE}`, abort: true })
    .max(128, { error: `${field} is longer than 128 characters`, abort: true })
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, { error: `${field} must be ${IDENTIFIER_RULE}`, abort: true })
    .superRefine((value, context) => {
      const found = problem(value);
      if (found) context.addIssue({ code: 'custom', message: `${field} ${JSON.stringify(value)} ${found}` });
    })
    .describe(`${description} (${IDENTIFIER_RULE}).`);
}

export const ProjectId = identifier(
  'project_id',
  'Project identifier, as returned by create_project or list_projects',
);
export const SessionId = identifier(
  'session_id',
  'Session identifier, as returned by create_session or start_session',
);
export const UserId = identifier('user_id', 'Identifier of the person or account that owns the work');
export const AgentName = identifier(
  'agent_name',
  'Agent name; it is also the output file name {agent_name}.md. Not checkpoint, user_feedback, session_manifest, project or history',
  agentNameProblem,
);

export const OutputFile = z
  .string({ error: 'output_file must be a string: {agent name}.md' })
  .superRefine((value, context) => {
    const found = outputFileProblem(value);
    if (found) context.addIssue({ code: 'custom', message: `output_file ${JSON.stringify(value)} ${found}` });
  })
  .describe(
    'Output file name in the phase folder, {agent name}.md by the agent name rules; default {agent_name}.md.',
  );

export const PhaseNum = z
  .number({ error: 'phase_num must be a number from 1 to 7 (not a string)' })
  .int({ error: 'phase_num must be a whole number from 1 to 7' })
  .min(1, { error: 'phase_num must be from 1 to 7' })
  .max(7, { error: 'phase_num must be from 1 to 7' })
  .describe(
    'Phase number: 1 Concept Expansion, 2 Market Research, 3 Niche Selection, 4 Product Strategy, 5 Business Planning, 6 Validation, 7 Final Synthesis. An mvp session has phases 1, 2, 3, 6, 7; a full session 1 to 7.',
  );

function enumOf<const T extends readonly [string, ...string[]]>(
  field: string,
  values: T,
  description: string,
) {
  return z.enum(values, { error: `${field} must be one of ${values.join(', ')}` }).describe(description);
}

export const ExecutionMode = enumOf(
  'execution_mode',
  EXECUTION_MODES,
  'mvp runs phases 1, 2, 3, 6, 7; full runs phases 1 to 7.',
);
export const WorkflowType = enumOf(
  'workflow_type',
  WORKFLOW_TYPES,
  'Workflow; idea_validation is the only one.',
);
export const PhaseStatus = enumOf('status', PHASE_STATUSES, 'Status of a phase.');
export const AgentStatus = enumOf('status', AGENT_STATUSES, 'Status of an agent run.');
export const PhaseExecutionMode = enumOf(
  'execution_mode',
  PHASE_EXECUTION_MODES,
  'How the phase ran its agents: single, parallel or sequential_interactive.',
);
export const FeedbackAction = enumOf(
  'action',
  FEEDBACK_ACTIONS,
  'approved leaves the phase status alone; retry_with_changes marks the phase requires_retry; skip_phase marks it skipped.',
);
export const SessionStatus = enumOf(
  'status',
  SESSION_STATUSES,
  'in_progress, or completed when every phase of the mode is completed or skipped.',
);
export const ProjectStatus = enumOf(
  'status',
  ['active', 'archived'] as const,
  'active, or archived by archive_project.',
);

export function count(field: string, description: string) {
  return z
    .number({ error: `${field} must be a number (not a string)` })
    .int({ error: `${field} must be a whole number` })
    .min(0, { error: `${field} must be >= 0` })
    .describe(description);
}

export function amount(field: string, description: string) {
  return z
    .number({ error: `${field} must be a finite number (not a string, NaN or Infinity)` })
    .min(0, { error: `${field} must be >= 0` })
    .describe(description);
}

export const Timestamp = z.string().describe('RFC 3339 timestamp, such as 2024-11-24T10:00:00.000Z.');

export function text(field: string, description: string) {
  return z.string({ error: `${field} must be a string` }).describe(description);
}

export const Limit = z
  .number({ error: 'limit must be a number' })
  .int({ error: 'limit must be a whole number' })
  .min(1, { error: 'limit must be from 1 to 500' })
  .max(500, { error: 'limit must be from 1 to 500' })
  .describe('Page size, 1 to 500 (default 50).');

export const Cursor = z
  .string({ error: 'cursor must be the next_cursor string of the previous page' })
  .max(1024, { error: 'cursor is too long; pass the next_cursor of the previous page' })
  .describe('Opaque next_cursor from the previous page; omit for the first page.');

export const NextCursor = z
  .string()
  .describe('Pass as cursor to get the next page; absent on the last page.');
