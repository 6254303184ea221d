import * as z from 'zod';
import {
  Cursor,
  ExecutionMode,
  Limit,
  NextCursor,
  ProjectId,
  ProjectStatus,
  Timestamp,
  text,
  UserId,
  WorkflowType,
} from './common.js';

export const CreateProjectInput = z.strictObject({
  user_id: UserId,
  startup_idea: text('startup_idea', 'The idea: markdown, up to 1 MiB.'),
  project_name: text('project_name', 'One line; the id is made from it.').optional(),
  workflow_type: WorkflowType.optional(),
  execution_mode: ExecutionMode.optional().describe("Default: the workflow's default mode."),
  project_id: ProjectId.optional().describe('Default: a slug of project_name, or a UUIDv7.'),
});

export const ProjectSummary = z.object({
  project_id: z.string(),
  project_name: z.string(),
  user_id: z.string(),
  workflow_type: z.string(),
  execution_mode: ExecutionMode,
  status: ProjectStatus,
  created_at: Timestamp,
});

export const ProjectRefInput = z.strictObject({ project_id: ProjectId });

export const GetProjectOutput = ProjectSummary.extend({
  updated_at: Timestamp,
  startup_idea: z
    .string()
    .describe('The idea as saved (cut to the response budget when larger; see startup_idea_truncated).'),
  startup_idea_chars: z.number().describe('Length of the whole idea, in UTF-16 code units.'),
  startup_idea_truncated: z.boolean(),
});

export const ListProjectsInput = z.strictObject({
  user_id: UserId.optional().describe('Filter by user.'),
  status: ProjectStatus.optional().describe('Filter by status.'),
  limit: Limit.optional(),
  cursor: Cursor.optional(),
});

export const ListProjectsOutput = z.object({
  projects: z.array(ProjectSummary.extend({ problem: z.string().optional() })).describe('Newest first.'),
  next_cursor: NextCursor.optional(),
});
