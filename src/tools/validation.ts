import { SessionRef } from '../schemas/sessions.js';
import { ValidateCheckpointInput, ValidateSessionOutput, ValidationReport } from '../schemas/validation.js';
import { defineTool, READ_ONLY } from './define.js';
import type { ToolContext } from './deps.js';

export function registerValidationTools(context: ToolContext): void {
  const { checkpoints } = context;
  defineTool(
    context,
    'validate_checkpoint',
    {
      title: 'Validate checkpoint',
      description:
        "Check one phase's files: structure and values, phase number and name against the directory, an output file for every completed agent, each output's SHA-256 (a mismatch warns of a hand edit), and the manifest row. Messages name the file and line.",
      input: ValidateCheckpointInput,
      output: ValidationReport,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.validateCheckpoint(input),
  );
  defineTool(
    context,
    'validate_session',
    {
      title: 'Validate session',
      description:
        'Validate every phase of a session and its manifest in one report. Next: load_session rebuilds a stale manifest.',
      input: SessionRef,
      output: ValidateSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.validateSession(input),
  );
}
