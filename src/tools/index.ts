import { registerCheckpointTools } from './checkpoints.js';
import { serveCatalog } from './define.js';
import type { ToolContext } from './deps.js';
import { registerFeedbackTools } from './feedback.js';
import { registerOutputTools } from './outputs.js';
import { registerProjectTools } from './projects.js';
import { registerPrompts } from './prompts.js';
import { registerResources } from './resources.js';
import { registerResumeTools } from './resume.js';
import { registerSessionTools } from './sessions.js';
import { registerValidationTools } from './validation.js';
import { registerWorkflowTools } from './workflows.js';

export type { ToolContext };

/** Every tool group, the resources and the prompts; the one place that lists them. */
export function registerAllTools(context: ToolContext): void {
  registerProjectTools(context);
  registerSessionTools(context);
  registerCheckpointTools(context);
  registerOutputTools(context);
  registerFeedbackTools(context);
  registerValidationTools(context);
  registerResumeTools(context);
  registerWorkflowTools(context);
  serveCatalog(context.server, context.catalog);
  registerResources(context);
  registerPrompts(context);
}
