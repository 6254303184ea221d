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
      description:
        "Once a phase's agents saved their outputs, record its status and their usage (tokens, US dollars, seconds) in checkpoint.md. Next: save_user_feedback.",
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
      description:
        "List the earlier versions kept in a phase's history/ folder. Next: get_agent_output with version.",
      input: ListHistoryInput,
      output: ListHistoryOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.listHistory(input),
  );
}
