import {
  DefineWorkflowInput,
  DefineWorkflowOutput,
  GetWorkflowInput,
  GetWorkflowOutput,
  ListWorkflowsInput,
  ListWorkflowsOutput,
} from '../schemas/workflows.js';
import { defineTool, READ_ONLY, SAVE } from './define.js';
import type { ToolContext } from './deps.js';

export function registerWorkflowTools(context: ToolContext): void {
  const { workflows } = context;
  defineTool(
    context,
    'define_workflow',
    {
      description:
        'Create or update (new revision) your own workflow: phases and modes; running sessions keep theirs. Next: create_project with workflow_type.',
      input: DefineWorkflowInput,
      output: DefineWorkflowOutput,
      annotations: SAVE,
    },
    (input) => workflows.define(input),
  );
  defineTool(
    context,
    'list_workflows',
    {
      description: 'List the workflows sessions can run, idea_validation first, with their modes.',
      input: ListWorkflowsInput,
      output: ListWorkflowsOutput,
      annotations: READ_ONLY,
    },
    () => workflows.list(),
  );
  defineTool(
    context,
    'get_workflow',
    {
      description: "Read one workflow's phases and modes, with its revision.",
      input: GetWorkflowInput,
      output: GetWorkflowOutput,
      annotations: READ_ONLY,
    },
    (input) => workflows.get(input.workflow_type),
  );
}
