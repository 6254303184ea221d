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
        "Save one agent's output for a phase as {agent_name}.md, byte for byte, with model, tokens and duration. Saving again keeps the earlier version in history/. Next: save_checkpoint for the phase once its agents are done.",
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
        'Read the agent outputs of earlier phases (default: every completed phase), exactly as saved. Past the response budget the largest are cut and listed in truncated; read those with get_agent_output.',
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
        "Read one agent's output with its metadata, in pages: start at offset 0 and call again with next_offset until it is absent; the pages joined are the exact content. version reads an earlier one (see list_history).",
      input: GetAgentOutputInput,
      output: GetAgentOutputOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.getAgentOutput(input),
  );
}
