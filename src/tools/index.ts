import { registerCheckpointTools } from './checkpoints.js';
import type { ToolContext } from './deps.js';
import { registerFeedbackTools } from './feedback.js';
import { registerOutputTools } from './outputs.js';
import { registerProjectTools } from './projects.js';
import { registerSessionTools } from './sessions.js';
import { registerValidationTools } from './validation.js';

export type { ToolContext };

/** Every tool group; the one place that lists them. */
export function registerAllTools(context: ToolContext): void {
  registerProjectTools(context);
  registerSessionTools(context);
  registerCheckpointTools(context);
  registerOutputTools(context);
  registerFeedbackTools(context);
  registerValidationTools(context);
}
