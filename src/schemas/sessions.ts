import * as z from 'zod';
import {
  Cursor,
  ExecutionMode,
  Limit,
  NextCursor,
  PhaseNum,
  PhaseStatus,
  ProjectId,
  SessionId,
  SessionStatus,
  Timestamp,
  UserId,
  WorkflowType,
} from './common.js';

export const SessionRef = z.strictObject({ project_id: ProjectId, session_id: SessionId });
export type SessionRef = z.infer<typeof SessionRef>;

const PhaseList = z.array(PhaseNum).describe('Phase numbers of the session, in order.');

export const CreateSessionInput = z.strictObject({
  project_id: ProjectId,
  session_id: SessionId,
  user_id: UserId,
  execution_mode: ExecutionMode.optional().describe("Default: the workflow's default mode."),
  workflow_type: WorkflowType.optional(),
});
export type CreateSessionInput = z.infer<typeof CreateSessionInput>;

export const CreateSessionOutput = z.object({
  project_id: z.string(),
  session_id: z.string(),
  execution_mode: ExecutionMode,
  phases: PhaseList,
  path: z.string().describe('Session directory, relative to the base directory.'),
});

export const StartSessionInput = z.strictObject({
  project_id: ProjectId,
  workflow_type: WorkflowType.optional().describe("Default: the project's."),
  user_id: UserId.optional().describe("Default: the project's user_id."),
});

export const StartSessionOutput = z.object({
  session_id: z.string().describe('New session id (UUIDv7, time-ordered).'),
  project_id: z.string(),
  execution_mode: ExecutionMode,
  current_phase: z.number(),
  completed_phases: z.array(z.number()),
  phases: PhaseList,
});

const Metrics = z.object({
  total_duration: z.number().describe('Sum of phase durations, seconds.'),
  total_tokens: z.number().describe('Sum of tokens over the phases.'),
  total_cost: z.number().describe('Sum of cost over the phases, US dollars.'),
});

export const LoadSessionOutput = z.object({
  session_id: z.string(),
  project_id: z.string(),
  user_id: z.string(),
  workflow_type: WorkflowType,
  execution_mode: ExecutionMode,
  created: Timestamp,
  last_updated: Timestamp,
  status: SessionStatus,
  current_phase: z.number().describe('Phase checkpointed last; 0 before any.'),
  completed_phases: z.array(z.number()).describe('Phases whose status is completed, in order.'),
  phase_statuses: z
    .record(z.string(), PhaseStatus)
    .describe('Status of every phase of the mode, keyed by phase number.'),
  next_phase: z
    .number()
    .optional()
    .describe('First phase that is neither completed nor skipped; absent when done.'),
  can_resume: z.boolean(),
  metrics: Metrics,
  revision: z.number().describe('Manifest revision: +1 on every save_checkpoint and save_user_feedback.'),
});

export const ListSessionsInput = z.strictObject({
  project_id: ProjectId,
  status: SessionStatus.optional(),
  limit: Limit.optional(),
  cursor: Cursor.optional(),
});

export const SessionSummary = z.object({
  session_id: z.string(),
  status: SessionStatus,
  execution_mode: ExecutionMode,
  current_phase: z.number(),
  next_phase: z.number().optional(),
  created: Timestamp,
  last_updated: Timestamp,
});

export const ListSessionsOutput = z.object({
  sessions: z.array(SessionSummary).describe('Newest first.'),
  next_cursor: NextCursor.optional(),
});
