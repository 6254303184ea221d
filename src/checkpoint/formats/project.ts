import { identifierProblem } from '../model/identifiers.js';
import {
  BUILT_IN_WORKFLOW,
  type ExecutionMode,
  modeOfFile,
  type WorkflowType,
  workflowOfFile,
} from '../model/phases.js';
import { isTimestamp } from '../model/values.js';
import { HeadReader, salvageLines } from './fields.js';
import {
  heading,
  keyValueList,
  missingVerbatim,
  parseHead,
  renderDocument,
  splitVerbatim,
} from './markdown.js';

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
  if (body === undefined) throw missingVerbatim(file, text, IDEA);
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

/** What salvageProject could still read of a project.md that does not parse: each field only if sound. */
export type SalvagedProject = Partial<
  Pick<ProjectRecord, 'project_name' | 'user_id' | 'workflow_type' | 'execution_mode' | 'status' | 'created'>
>;

/**
 * The metadata of a project.md that parseProject refused (a field mistyped by hand), read line by line
 * without the markdown parser, so that list_projects can still show the project beside its problem.
 */
export function salvageProject(text: string): SalvagedProject {
  const { field } = salvageLines(text);
  const salvaged: SalvagedProject = {};
  const sound = (value: string | undefined): value is string =>
    value !== undefined && identifierProblem(value) === undefined;
  // CommonMark's backslash escapes of ASCII punctuation, as the renderer writes them in a name.
  const name = field('Project Name')?.replace(/\\([!-/:-@[-`{-~])/g, '$1');
  if (name) salvaged.project_name = name;
  const userId = field('User ID');
  if (sound(userId)) salvaged.user_id = userId;
  const workflowType = field('Workflow Type');
  const workflow = workflowType === undefined ? BUILT_IN_WORKFLOW : workflowOfFile(workflowType);
  if (workflowType === undefined || sound(workflowType)) salvaged.workflow_type = workflow;
  const mode = field('Execution Mode');
  if (sound(mode) && salvaged.workflow_type !== undefined)
    salvaged.execution_mode = modeOfFile(workflow, mode);
  const status = field('Status')?.toLowerCase();
  const known = PROJECT_STATUSES.find((candidate) => candidate === status);
  if (known !== undefined) salvaged.status = known;
  const created = field('Created');
  if (created !== undefined && isTimestamp(created)) salvaged.created = created;
  return salvaged;
}
