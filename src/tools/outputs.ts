import {
  GetAgentOutputInput,
  GetAgentOutputOutput,
  GetPhaseOutputsInput,
  GetPhaseOutputsOutput,
  SaveAgentOutputInput,
  SaveAgentOutputOutput,
} from '../schemas/outputs.js';
import { defineTool, READ_ONLY, SAVE } from './define.js';
import type { ToolContext } from './deps.js';

export function registerOutputTools(context: ToolContext): void {
  const { checkpoints } = context;
  defineTool(
    context,
    'save_agent_output',
    {
      description:
        "Save one agent's output for a phase as {agent_name}.md, byte for byte (an earlier version goes to history/). Next: save_checkpoint.",
      input: SaveAgentOutputInput,
      output: SaveAgentOutputOutput,
      annotations: SAVE,
    },
    (input) => checkpoints.saveAgentOutput(input),
  );
  defineTool(
    context,
    'get_phase_outputs',
    {
      description:
        'Read agent outputs by phase and agent, exactly as saved; those cut to fit are listed in truncated: read them with get_agent_output.',
      input: GetPhaseOutputsInput,
      output: GetPhaseOutputsOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.getPhaseOutputs(input),
  );
  defineTool(
    context,
    'get_agent_output',
    {
      description:
        "Read one agent's output and metadata in pages (offset = next_offset until absent); the pages joined are the exact content.",
      input: GetAgentOutputInput,
      output: GetAgentOutputOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.getAgentOutput(input),
  );
}
