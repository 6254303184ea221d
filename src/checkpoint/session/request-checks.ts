import { costOf, type DecimalText } from '../model/decimal.js';
import { CheckpointError } from '../model/errors.js';
import { assertIdentifier, outputFileProblem } from '../model/identifiers.js';
import type { Limits } from '../model/limits.js';
import { MAX_PAGE_SIZE } from '../model/paging.js';
import {
  assertCountLimit,
  assertListLimit,
  assertNonNegativeInteger,
  assertNonNegativeNumber,
  assertTextLimit,
  assertTimestamp,
  metadataValue,
} from '../model/values.js';
import type {
  GetAgentOutputRequest,
  SaveAgentOutputRequest,
  SaveCheckpointRequest,
  SaveUserFeedbackRequest,
} from './requests.js';

/**
 * Checks the core makes itself, whatever the caller validated before: limits, identifiers, numbers,
 * single-line values. Returns the normalised values that go into the file.
 */
export function validateCheckpointRequest(
  request: SaveCheckpointRequest,
  limits: Limits,
): { errors: string[]; costs: Array<DecimalText | undefined> } {
  assertCountLimit('agents', request.agents.length, limits.maxAgents);
  assertCountLimit('errors', request.errors?.length ?? 0, limits.maxErrors);
  const seen = new Map<string, string>();
  const costs = request.agents.map((agent, i) => {
    const field = `agents[${i}]`;
    assertIdentifier('agent_name', agent.agent_name);
    const twin = seen.get(agent.agent_name.toLowerCase());
    if (twin !== undefined) {
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        `${field}.agent_name "${agent.agent_name}" repeats "${twin}" (names are compared ignoring letter case); list each agent once`,
      );
    }
    seen.set(agent.agent_name.toLowerCase(), agent.agent_name);
    assertNonNegativeInteger(`${field}.tokens`, agent.tokens);
    assertNonNegativeInteger(`${field}.input_tokens`, agent.input_tokens);
    assertNonNegativeInteger(`${field}.output_tokens`, agent.output_tokens);
    assertNonNegativeNumber(`${field}.duration`, agent.duration);
    if (agent.output_file !== undefined) assertOutputFile(`${field}.output_file`, agent.output_file);
    return agent.cost === undefined ? undefined : costOf(`${field}.cost`, agent.cost);
  });
  assertTimestamp('started', request.started);
  assertTimestamp('completed', request.completed);
  if (
    request.started !== undefined &&
    request.completed !== undefined &&
    Date.parse(request.completed) < Date.parse(request.started)
  ) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `completed (${request.completed}) is before started (${request.started})`,
    );
  }
  assertNonNegativeNumber('duration', request.duration);
  assertNonNegativeInteger('retry_count', request.retry_count);
  const errors = (request.errors ?? []).map((error, i) =>
    metadataValue(`errors[${i}]`, error, 'keep the full text in the agent output or its stack_trace'),
  );
  assertListLimit(
    'errors',
    errors,
    'Send the first lines of each error; the full text belongs in the agent output',
  );
  return { errors, costs };
}

export interface CheckedAgentOutput {
  model?: string | undefined;
  tools_used: string[];
  error_type?: string | undefined;
  error_message?: string | undefined;
  stack_trace?: string | undefined;
}

export function validateAgentOutput(request: SaveAgentOutputRequest, limits: Limits): CheckedAgentOutput {
  assertTextLimit(
    'output_content',
    request.output_content,
    limits.maxContentBytes,
    'Shorten or summarise the output and call again, or have the server started with a larger --max-content-bytes',
  );
  assertNonNegativeNumber('duration', request.duration);
  assertNonNegativeInteger('input_tokens', request.input_tokens);
  assertNonNegativeInteger('output_tokens', request.output_tokens);
  assertCountLimit('tools_used', request.tools_used?.length ?? 0, limits.maxAgents);
  const tools = (request.tools_used ?? []).map((tool, i) => {
    const value = metadataValue(`tools_used[${i}]`, tool);
    if (/[,[\]]/.test(value)) {
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        `tools_used[${i}] ${JSON.stringify(tool)} must not contain "," "[" or "]"`,
      );
    }
    return value;
  });
  assertListLimit('tools_used', tools, 'Name each tool once, by its short name');
  if (request.stack_trace !== undefined)
    assertTextLimit(
      'stack_trace',
      request.stack_trace,
      limits.maxTextBytes,
      'Keep the first and last frames and call again',
    );
  return {
    model: optionalValue('model', request.model),
    tools_used: tools,
    error_type: optionalValue('error_type', request.error_type),
    error_message:
      request.error_message === undefined
        ? undefined
        : metadataValue('error_message', request.error_message, 'put the full text in stack_trace'),
    stack_trace: request.stack_trace === undefined ? undefined : normalizeStackTrace(request.stack_trace),
  };
}

export function validateFeedback(
  request: SaveUserFeedbackRequest,
  limits: Limits,
): { requested_changes: string[] } {
  assertTextLimit(
    'comments',
    request.comments ?? '',
    limits.maxTextBytes,
    'Shorten the comments and call again; a long review can be saved as an agent output with save_agent_output',
  );
  assertCountLimit('requested_changes', request.requested_changes?.length ?? 0, limits.maxRequestedChanges);
  assertNonNegativeInteger('retry_count', request.retry_count);
  if (request.approved && request.action === 'retry_with_changes') {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      'approved is true but action is retry_with_changes; send approved: false to ask for a retry, or action: "approved"',
    );
  }
  const changes = (request.requested_changes ?? []).map((change, i) =>
    metadataValue(`requested_changes[${i}]`, change, 'put the details in comments'),
  );
  assertListLimit('requested_changes', changes, 'Name each change in a line; put the details in comments');
  return { requested_changes: changes };
}

export function assertPageLimit(limit: number | undefined): void {
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_SIZE)) {
    throw new CheckpointError(
      'INVALID_ARGUMENT',
      `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}, got ${limit}`,
    );
  }
}

export function validateOutputPage(request: GetAgentOutputRequest): void {
  assertNonNegativeInteger('offset', request.offset);
  for (const field of ['max_chars', 'version'] as const) {
    const value = request[field];
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 1)) {
      throw new CheckpointError('INVALID_ARGUMENT', `${field} must be a whole number >= 1, got ${value}`);
    }
  }
}

/**
 * A stack trace is written as an indented code block, so no line of it can pose as a heading. Line
 * ends become LF, trailing spaces and blank edge lines go, and NUL becomes U+FFFD as every markdown
 * reader makes it: what survives that round trip is kept.
 */
export function normalizeStackTrace(trace: string): string | undefined {
  const lines = trace
    .replaceAll('\0', '\uFFFD')
    .split(/\r\n|\r|\n/)
    .map((line) => line.replace(/[ \t]+$/, ''));
  while (lines.length > 0 && lines[0] === '') lines.shift();
  while (lines.length > 0 && lines.at(-1) === '') lines.pop();
  return lines.length > 0 ? lines.join('\n') : undefined;
}

function optionalValue(field: string, value: string | undefined): string | undefined {
  return value === undefined ? undefined : metadataValue(field, value);
}

function assertOutputFile(field: string, name: string): void {
  const problem = outputFileProblem(name);
  if (problem) throw new CheckpointError('INVALID_ARGUMENT', `${field} ${JSON.stringify(name)} ${problem}`);
}
