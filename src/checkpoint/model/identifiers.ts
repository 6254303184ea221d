import { CheckpointError } from './errors.js';

export const IDENTIFIER_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
export const IDENTIFIER_RULE =
  '1 to 128 characters of A-Z a-z 0-9 _ - . starting with a letter or digit, without ".." and not a reserved device name such as CON or NUL';

export const RESERVED_AGENT_NAMES = ['checkpoint', 'user_feedback', 'session_manifest', 'project', 'history'];

// Windows refuses these names with any extension, so a tree copied there would break.
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\..*)?$/i;

export type IdentifierField = 'project_id' | 'session_id' | 'user_id' | 'agent_name';

/** Why `value` is not a valid identifier, or undefined when it is. */
export function identifierProblem(value: string): string | undefined {
  if (!IDENTIFIER_PATTERN.test(value)) return `must be ${IDENTIFIER_RULE}`;
  if (value.includes('..')) return 'must not contain ".."';
  if (value.endsWith('.')) return 'must not end with "."';
  if (WINDOWS_DEVICE.test(value))
    return 'must not be a reserved device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9)';
  return undefined;
}

/** The folder the user's workflows are kept in: no project can have its name. */
export const RESERVED_PROJECT_ID = 'workflows';

export function projectIdProblem(value: string): string | undefined {
  const problem = identifierProblem(value);
  if (problem) return problem;
  if (value.toLowerCase() === RESERVED_PROJECT_ID)
    return `is reserved (any letter case): the ${RESERVED_PROJECT_ID} folder holds the workflow definitions`;
  return undefined;
}

export function agentNameProblem(value: string): string | undefined {
  const problem = identifierProblem(value);
  if (problem) return problem;
  if (RESERVED_AGENT_NAMES.includes(value.toLowerCase().replace(/\.md$/, ''))) {
    return `must not be one of ${RESERVED_AGENT_NAMES.join(', ')} (any letter case)`;
  }
  return undefined;
}

/** Why `name` cannot be an agent's output file `{agent name}.md` in a phase directory, or undefined. */
export function outputFileProblem(name: string): string | undefined {
  if (!name.endsWith('.md')) return 'must be an agent output file name ending with ".md"';
  return agentNameProblem(name.slice(0, -3));
}

export function assertIdentifier(field: IdentifierField, value: string): string {
  const problem =
    field === 'agent_name'
      ? agentNameProblem(value)
      : field === 'project_id'
        ? projectIdProblem(value)
        : identifierProblem(value);
  if (problem) {
    throw new CheckpointError('INVALID_ARGUMENT', `${field} ${JSON.stringify(value)} ${problem}`);
  }
  return value;
}
