import {
  BUILT_IN_WORKFLOW,
  type ExecutionMode,
  modeOfFile,
  type WorkflowType,
  workflowOfFile,
} from '../model/phases.js';
import { HeadReader } from './fields.js';
import { corrupt, heading, keyValueList, parseHead, renderDocument, splitVerbatim } from './markdown.js';

export const PROJECT_STATUSES = ['active', 'archived'] as const;
export type ProjectStatus = (typeof PROJECT_STATUSES)[number];

export interface ProjectRecord {
  project_id: string;
  project_name: string;
  user_id: string;
  /** The workflow its sessions run; written for a user's workflow only (the built-in one is the default). */
  workflow_type: WorkflowType;
  execution_mode: ExecutionMode;
  status: ProjectStatus;
  created: string;
  updated: string;
  startup_idea: string;
}

const IDEA = 'Startup Idea';

export function renderProject(project: ProjectRecord): string {
  return renderDocument(
    [
      heading(1, `Project: ${project.project_name}`),
      heading(2, 'Metadata'),
      keyValueList([
        ['Project ID', project.project_id],
        ['Project Name', project.project_name],
        ['User ID', project.user_id],
        ...(project.workflow_type === BUILT_IN_WORKFLOW
          ? []
          : [['Workflow Type', project.workflow_type] as const]),
        ['Execution Mode', project.execution_mode],
        ['Status', project.status],
        ['Created', project.created],
        ['Updated', project.updated],
      ]),
    ],
    { heading: IDEA, body: project.startup_idea },
  );
}

/** Parses only the head; the idea comes back verbatim. */
export function parseProject(text: string, file: string): ProjectRecord {
  const { head, body } = splitVerbatim(text, IDEA);
  if (body === undefined) throw corrupt(file, 1, `missing section "## ${IDEA}"`);
  const metadata = new HeadReader(file, parseHead(head)).fields('Metadata');
  // Read in the order of the file, so the first bad field is the one reported.
  const project_id = metadata.string('Project ID');
  const project_name = metadata.string('Project Name');
  const user_id = metadata.string('User ID');
  const workflowType = metadata.has('Workflow Type')
    ? workflowOfFile(metadata.identifier('Workflow Type'))
    : BUILT_IN_WORKFLOW;
  return {
    project_id,
    project_name,
    user_id,
    workflow_type: workflowType,
    execution_mode: modeOfFile(workflowType, metadata.identifier('Execution Mode')),
    status: metadata.oneOf('Status', PROJECT_STATUSES),
    created: metadata.timestamp('Created'),
    updated: metadata.timestamp('Updated'),
    startup_idea: body,
  };
}
