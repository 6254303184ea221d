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
      description:
        "Check one phase's files: structure, an output per completed agent, SHA-256s (a mismatch warns of a hand edit), the manifest row. Messages name file and line.",
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
      description:
        'Validate every phase of a session and its manifest. Next: load_session rebuilds a stale manifest.',
      input: SessionRef,
      output: ValidateSessionOutput,
      annotations: READ_ONLY,
    },
    (input) => checkpoints.validateSession(input),
  );
}
