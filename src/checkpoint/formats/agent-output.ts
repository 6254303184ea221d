import { MAX_PHASE_NUM } from '../model/phases.js';
import { AGENT_STATUSES, type AgentStatus } from '../model/vocabulary.js';
import { formatSeconds, HeadReader, orMissing } from './fields.js';
import {
  codeBlock,
  heading,
  indentedCode,
  keyValueList,
  MISSING,
  missingVerbatim,
  parseHead,
  renderDocument,
  splitVerbatim,
} from './markdown.js';

export interface AgentOutputRecord {
  agent_name: string;
  phase_num: number;
  phase_name: string;
  executed: string;
  duration?: number;
  status: AgentStatus;
  model?: string;
  input_tokens?: number;
  output_tokens?: number;
  tools_used: string[];
  sha256: string;
  error_type?: string;
  error_message?: string;
  stack_trace?: string;
  content: string;
}

/** Everything but the content: what listing and validation need without holding the body. */
export type AgentOutputHead = Omit<AgentOutputRecord, 'content'>;

export const OUTPUT_HEADING = 'Output';
const OUTPUT = OUTPUT_HEADING;

export function renderAgentOutput(output: AgentOutputRecord): string {
  const hasError =
    output.error_type !== undefined || output.error_message !== undefined || output.stack_trace !== undefined;
  return renderDocument(
    [
      heading(1, `Agent Output: ${output.agent_name}`),
      heading(2, 'Metadata'),
      keyValueList([
        ['Agent', output.agent_name],
        ['Phase', `${output.phase_num} - ${output.phase_name}`],
        ['Executed', output.executed],
        ['Duration', formatSeconds(output.duration)],
        ['Status', output.status],
      ]),
      heading(2, 'Execution Details'),
      keyValueList([
        ['Model', orMissing(output.model)],
        ['Input Tokens', orMissing(output.input_tokens)],
        ['Output Tokens', orMissing(output.output_tokens)],
        ['Tools Used', output.tools_used.length > 0 ? `[${output.tools_used.join(', ')}]` : 'none'],
        ['Content SHA-256', output.sha256],
      ]),
      ...(hasError
        ? [
            heading(2, 'Error Details'),
            keyValueList([
              ['Error Type', orMissing(output.error_type)],
              ['Error Message', orMissing(output.error_message)],
            ]),
            ...(output.stack_trace !== undefined ? [indentedCode(output.stack_trace)] : []),
          ]
        : []),
    ],
    { heading: OUTPUT, body: output.content },
  );
}

export function parseAgentOutput(text: string, file: string): AgentOutputRecord {
  const { head, body } = splitVerbatim(text, OUTPUT);
  if (body === undefined) throw missingVerbatim(file, text, OUTPUT);
  return { ...parseAgentOutputHead(head, file), content: body };
}

/** Parses the metadata of a head already cut at `## Output` (see splitVerbatim). */
export function parseAgentOutputHead(head: string, file: string): AgentOutputHead {
  const reader = new HeadReader(file, parseHead(head));
  const metadata = reader.fields('Metadata');
  const details = reader.fields('Execution Details');
  const phaseField = metadata.field('Phase');
  const phaseMatch = /^(\d{1,2})\s*-\s*(.+)$/.exec(phaseField.value);
  const phaseNum = Number(phaseMatch?.[1]);
  if (!phaseMatch || !(phaseNum >= 1 && phaseNum <= MAX_PHASE_NUM))
    throw metadata.bad(phaseField, `"{n} - {Phase Name}" with n from 1 to ${MAX_PHASE_NUM}`);
  const record: AgentOutputHead = {
    agent_name: metadata.string('Agent'),
    phase_num: phaseNum,
    phase_name: (phaseMatch[2] as string).trim(),
    executed: metadata.timestamp('Executed'),
    status: metadata.oneOf('Status', AGENT_STATUSES),
    tools_used: parseTools(details.optionalString('Tools Used')),
    sha256: details.string('Content SHA-256').toLowerCase(),
  };
  const duration = metadata.optionalSeconds('Duration');
  const model = details.optionalString('Model');
  const inputTokens = details.optionalInteger('Input Tokens');
  const outputTokens = details.optionalInteger('Output Tokens');
  if (duration !== undefined) record.duration = duration;
  if (model !== undefined) record.model = model;
  if (inputTokens !== undefined) record.input_tokens = inputTokens;
  if (outputTokens !== undefined) record.output_tokens = outputTokens;
  const errorSection = reader.optionalSection('Error Details');
  if (errorSection) {
    const errors = reader.fields('Error Details');
    const errorType = errors.optionalString('Error Type');
    const errorMessage = errors.optionalString('Error Message');
    const stack = codeBlock(errorSection);
    if (errorType !== undefined) record.error_type = errorType;
    if (errorMessage !== undefined) record.error_message = errorMessage;
    if (stack !== undefined) record.stack_trace = stack;
  }
  return record;
}

function parseTools(text: string | undefined): string[] {
  if (text === undefined || text.toLowerCase() === 'none' || text === MISSING) return [];
  const inner = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  return inner
    .split(',')
    .map((tool) => tool.trim())
    .filter((tool) => tool !== '');
}
