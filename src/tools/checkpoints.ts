import {
  ListHistoryInput,
  ListHistoryOutput,
  SaveCheckpointInput,
  SaveCheckpointOutput,
} from '../schemas/checkpoints.js';
import { defineTool, READ_ONLY, SAVE } from './define.js';
import type { ToolContext } from './deps.js';

export function registerCheckpointTools(context: ToolContext): void {
  const { checkpoints } = context;
  defineTool(
    context,
    'save_checkpoint',
    {
      title: 'Save phase checkpoint',
      description:
        "Record a phase's status and its agents' usage (tokens, cost in US dollars, seconds) in checkpoint.md and update the manifest; returns its revision. Call it after the agents saved their outputs; next: save_user_feedback after the review.",
      input: SaveCheckpointInput,
      output: SaveCheckpointOutput,
      annotations: SAVE,
    },
    (input) => checkpoints.saveCheckpoint(input),
  );
  defineTool(
    context,
    'list_history',
    {
      title: 'List history',
      description:
        "List the earlier versions kept in a phase's history/ folder. Next: get_agent_output with version.",
      input: ListHistoryInput,
      output: ListHistoryOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.listHistory(input),
  );
}
