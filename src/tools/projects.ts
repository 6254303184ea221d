import {
  CreateProjectInput,
  GetProjectOutput,
  ListProjectsInput,
  ListProjectsOutput,
  ProjectRefInput,
  ProjectSummary,
} from '../schemas/projects.js';
import { CREATE, defineTool, READ_ONLY, SAVE } from './define.js';
import type { ToolContext } from './deps.js';

export function registerProjectTools(context: ToolContext): void {
  const { projects } = context;
  defineTool(
    context,
    'create_project',
    {
      description:
        'Create a project ({project_id}/project.md) for one idea; its id is a slug of project_name, made unique, or a UUIDv7. Next: start_session.',
      input: CreateProjectInput,
      output: ProjectSummary,
      annotations: CREATE,
    },
    (input) => projects.createProject(input),
  );
  defineTool(
    context,
    'list_projects',
    {
      description: 'List projects, newest first, in pages (cursor = next_cursor). Next: list_sessions.',
      input: ListProjectsInput,
      output: ListProjectsOutput,
      annotations: READ_ONLY,
    },
    (input) => projects.listProjects(input),
  );
  defineTool(
    context,
    'get_project',
    {
      description: 'Read one project with its startup idea. Next: list_sessions or start_session.',
      input: ProjectRefInput,
      output: GetProjectOutput,
      annotations: READ_ONLY,
    },
    (input) => projects.getProject(input),
  );
  defineTool(
    context,
    'archive_project',
    {
      description: 'Mark a project archived: nothing is deleted, no new session can start.',
      input: ProjectRefInput,
      output: ProjectSummary,
      annotations: SAVE,
    },
    (input) => projects.archiveProject(input),
  );
}
