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
      title: 'Save agent output',
      description:
        "Save one agent's output for a phase as {agent_name}.md, byte for byte; saving again keeps the earlier version in history/. Returns the file and its SHA-256. Next: save_checkpoint once the phase's agents are done.",
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
      title: 'Get phase outputs',
      description:
        'Read agent outputs by phase number and agent name, exactly as saved. Outputs cut to fit the response are listed in truncated (with total_chars): read them with get_agent_output.',
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
      title: 'Get agent output',
      description:
        "Read one agent's output and metadata in pages: call again with offset = next_offset until it is absent; the pages joined are the exact content.",
      input: GetAgentOutputInput,
      output: GetAgentOutputOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.getAgentOutput(input),
  );
}
