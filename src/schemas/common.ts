import * as z from 'zod';
import {
  agentNameProblem,
  IDENTIFIER_RULE,
  identifierProblem,
  outputFileProblem,
  projectIdProblem,
} from '../checkpoint/model/identifiers.js';
import { MAX_PHASE_NUM } from '../checkpoint/model/phases.js';
import {
  AGENT_STATUSES,
  FEEDBACK_ACTIONS,
  PHASE_EXECUTION_MODES,
  PHASE_STATUSES,
  SESSION_STATUSES,
} from '../checkpoint/model/vocabulary.js';

/** An id checked by the core's rules; the listing shows a plain string (the instructions state the rule once). */
function identifier(field: string, description: string, problem = identifierProblem) {
  return z
    .string({ error: `${field} must be a string: ${IDENTIFIER_RULE}` })
    .superRefine((value, context) => {
      const found = problem(value);
      if (found) context.addIssue({ code: 'custom', message: `${field} ${JSON.stringify(value)} ${found}` });
    })
    .describe(description);
}

export const ProjectId = identifier('project_id', 'Project id.', projectIdProblem);
export const SessionId = identifier('session_id', 'Session id.');
export const UserId = identifier('user_id', 'Owner: a person or account.');
export const AgentName = identifier(
  'agent_name',
  'Agent name; its file is {agent_name}.md.',
  agentNameProblem,
);

export const OutputFile = z
  .string({ error: 'output_file must be a string: {agent name}.md' })
  .superRefine((value, context) => {
    const found = outputFileProblem(value);
    if (found) context.addIssue({ code: 'custom', message: `output_file ${JSON.stringify(value)} ${found}` });
  })
  .describe('Default {agent_name}.md.');

/** A phase number, 1 to MAX_PHASE_NUM, as `field` in the messages. */
export function phaseNumber(field: string) {
  return z
    .number({ error: `${field} must be a number from 1 to ${MAX_PHASE_NUM} (not a string)` })
    .int({ error: `${field} must be a whole number from 1 to ${MAX_PHASE_NUM}` })
    .min(1, { error: `${field} must be from 1 to ${MAX_PHASE_NUM}` })
    .max(MAX_PHASE_NUM, { error: `${field} must be from 1 to ${MAX_PHASE_NUM}` });
}

export const PhaseNum = phaseNumber('phase_num').describe('A phase of the session.');

function enumOf<const T extends readonly [string, ...string[]]>(
  field: string,
  values: T,
  description: string,
) {
  return z.enum(values, { error: `${field} must be one of ${values.join(', ')}` }).describe(description);
}

export const ExecutionMode = identifier('execution_mode', 'A mode of the workflow (mvp, full, ...).');
export const WorkflowType = identifier('workflow_type', 'Default idea_validation.');
export const PhaseStatus = enumOf('status', PHASE_STATUSES, 'Phase status.');
export const AgentStatus = enumOf('status', AGENT_STATUSES, 'Agent status.');
export const PhaseExecutionMode = enumOf('execution_mode', PHASE_EXECUTION_MODES, 'How the agents ran.');
export const FeedbackAction = enumOf(
  'action',
  FEEDBACK_ACTIONS,
  'retry_with_changes sets the phase requires_retry, skip_phase skipped; approved keeps it.',
);
export const SessionStatus = enumOf('status', SESSION_STATUSES, 'Session status.');
export const ProjectStatus = enumOf('status', ['active', 'archived'] as const, 'Project status.');

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

/** An item of a list of lines: the list's description says what it is. */
export function line(field: string) {
  return z.string({ error: `${field} must be a string` });
}

export const Limit = z
  .number({ error: 'limit must be a number' })
  .int({ error: 'limit must be a whole number' })
  .min(1, { error: 'limit must be from 1 to 500' })
  .max(500, { error: 'limit must be from 1 to 500' })
  .describe('Page size, 1-500 (default 50).');

export const Cursor = z
  .string({ error: 'cursor must be the next_cursor string of the previous page' })
  .max(1024, { error: 'cursor is too long; pass the next_cursor of the previous page' })
  .describe('next_cursor of the previous page.');

export const NextCursor = z
  .string()
  .describe('Pass as cursor to get the next page; absent on the last page.');
