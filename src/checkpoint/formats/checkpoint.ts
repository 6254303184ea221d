import { type DecimalText, sumDecimals } from '../model/decimal.js';
import { agentNameProblem, outputFileProblem } from '../model/identifiers.js';
import { FEEDBACK_FILE } from '../model/paths.js';
import { MAX_PHASE_NUM } from '../model/phases.js';
import { parseNumberText } from '../model/values.js';
import {
  AGENT_STATUSES,
  type AgentStatus,
  isPhaseDone,
  PHASE_EXECUTION_MODES,
  PHASE_STATUSES,
  type PhaseExecutionMode,
  type PhaseStatus,
} from '../model/vocabulary.js';
import { formatDollars, formatSeconds, HeadReader, orMissing, parseDollars, parseSeconds } from './fields.js';
import {
  bulletList,
  corrupt,
  heading,
  keyValueList,
  keyValues,
  listItems,
  MISSING,
  parseHead,
  renderDocument,
  table,
  tableRows,
} from './markdown.js';

export interface AgentEntry {
  agent_name: string;
  status: AgentStatus;
  output_file?: string;
  tokens?: number;
  input_tokens?: number;
  output_tokens?: number;
  /** US dollars, exact. */
  cost?: DecimalText;
  duration?: number;
}

export interface CheckpointRecord {
  phase_num: number;
  phase_name: string;
  status: PhaseStatus;
  started?: string;
  completed?: string;
  duration?: number;
  retry_count: number;
  execution_mode: PhaseExecutionMode;
  /** When this file was last written: orders phases for the manifest's Current Phase. */
  updated: string;
  agents: AgentEntry[];
  /**
   * The sums its Metrics section states, for a file with no Agent Ledger (written by hand in the
   * documented form): its agents' own tokens and cost are then unknown, the phase's are not.
   */
  totals?: PhaseMetrics;
  next_phase?: number;
  next_phase_name?: string;
  errors: string[];
}

export interface PhaseMetrics {
  total_tokens: number;
  input_tokens: number;
  output_tokens: number;
  cost: DecimalText;
}

const LEDGER_HEADER = ['Agent', 'Output File', 'Tokens', 'Input Tokens', 'Output Tokens', 'Cost', 'Duration'];

export function agentOutputFile(agent: AgentEntry): string {
  return agent.output_file ?? `${agent.agent_name}.md`;
}

export function phaseMetrics(agents: readonly AgentEntry[]): PhaseMetrics {
  const metrics: PhaseMetrics = { total_tokens: 0, input_tokens: 0, output_tokens: 0, cost: '0' };
  for (const agent of agents) {
    metrics.input_tokens += agent.input_tokens ?? 0;
    metrics.output_tokens += agent.output_tokens ?? 0;
    metrics.total_tokens += agentTokens(agent) ?? 0;
  }
  metrics.cost = sumDecimals(agents.flatMap((agent) => agent.cost ?? []));
  return metrics;
}

/** The phase's sums: its agents', or those its file states where no ledger gives them per agent. */
export function checkpointMetrics(checkpoint: CheckpointRecord): PhaseMetrics {
  return checkpoint.totals ?? phaseMetrics(checkpoint.agents);
}

/** An agent's tokens: as given, else input + output when either is known, else unknown. */
export function agentTokens(agent: AgentEntry): number | undefined {
  return agent.tokens ?? derivedTokens(agent);
}

function derivedTokens(agent: AgentEntry): number | undefined {
  if (agent.input_tokens === undefined && agent.output_tokens === undefined) return undefined;
  return (agent.input_tokens ?? 0) + (agent.output_tokens ?? 0);
}

/**
 * The agent as stored: a total equal to input + output is left out, since the file cannot tell it
 * from one derived (what parse gives back for what render wrote).
 */
export function storedAgent(agent: AgentEntry): AgentEntry {
  if (agent.tokens === undefined || agent.tokens !== derivedTokens(agent)) return agent;
  const { tokens: _tokens, ...rest } = agent;
  return rest;
}

export function renderCheckpoint(checkpoint: CheckpointRecord): string {
  const metrics = checkpointMetrics(checkpoint);
  const times = checkpoint.agents
    .filter((agent) => agent.duration !== undefined)
    .map((agent) => `${agent.agent_name}: ${formatSeconds(agent.duration)}`);
  const outputs = checkpoint.agents.map(agentOutputFile);
  return renderDocument([
    heading(1, `Phase Checkpoint: ${checkpoint.phase_name}`),
    heading(2, 'Metadata'),
    keyValueList([
      ['Phase Number', String(checkpoint.phase_num)],
      ['Phase Name', checkpoint.phase_name],
      ['Status', checkpoint.status],
      ['Started', orMissing(checkpoint.started)],
      ['Completed', orMissing(checkpoint.completed)],
      ['Duration', formatSeconds(checkpoint.duration)],
      ['Retry Count', String(checkpoint.retry_count)],
      ['Execution Mode', checkpoint.execution_mode],
      ['Updated', checkpoint.updated],
    ]),
    heading(2, 'Agents in Phase'),
    ...(checkpoint.agents.length > 0
      ? [keyValueList(checkpoint.agents.map((agent) => [agent.agent_name, agent.status] as const))]
      : []),
    heading(2, 'Metrics'),
    keyValueList([
      ['Total Tokens', String(metrics.total_tokens)],
      ['Input Tokens', String(metrics.input_tokens)],
      ['Output Tokens', String(metrics.output_tokens)],
      ['Cost', formatDollars(metrics.cost)],
      ['Agent Execution Times', times.length > 0 ? times.join(', ') : MISSING],
    ]),
    ...(checkpoint.agents.length > 0 && checkpoint.totals === undefined
      ? [
          heading(2, 'Agent Ledger'),
          table(
            LEDGER_HEADER,
            checkpoint.agents.map((agent) => [
              agent.agent_name,
              agentOutputFile(agent),
              orMissing(agentTokens(agent)),
              orMissing(agent.input_tokens),
              orMissing(agent.output_tokens),
              agent.cost === undefined ? MISSING : formatDollars(agent.cost),
              formatSeconds(agent.duration),
            ]),
          ),
        ]
      : []),
    heading(2, 'Outputs'),
    keyValueList([
      ['Agent Outputs', outputs.length > 0 ? outputs.join(', ') : MISSING],
      ['User Feedback', FEEDBACK_FILE],
    ]),
    heading(2, 'Next Phase'),
    keyValueList([
      ['Phase Number', orMissing(checkpoint.next_phase)],
      ['Phase Name', checkpoint.next_phase === undefined ? 'None' : (checkpoint.next_phase_name ?? 'None')],
      ['Ready to Execute', String(isPhaseDone(checkpoint.status))],
    ]),
    ...(checkpoint.errors.length > 0 ? [heading(2, 'Errors'), bulletList(checkpoint.errors)] : []),
  ]);
}

export function parseCheckpoint(text: string, file: string): CheckpointRecord {
  const reader = new HeadReader(file, parseHead(text));
  const metadata = reader.fields('Metadata');
  const phaseNum = metadata.integer('Phase Number');
  if (phaseNum < 1 || phaseNum > MAX_PHASE_NUM)
    throw metadata.bad(metadata.field('Phase Number'), `a phase number from 1 to ${MAX_PHASE_NUM}`);
  const checkpoint: CheckpointRecord = {
    phase_num: phaseNum,
    phase_name: metadata.string('Phase Name'),
    status: metadata.oneOf('Status', PHASE_STATUSES),
    retry_count: metadata.integer('Retry Count'),
    execution_mode: metadata.oneOf('Execution Mode', PHASE_EXECUTION_MODES),
    updated:
      metadata.optionalTimestamp('Updated') ??
      metadata.optionalTimestamp('Completed') ??
      metadata.optionalTimestamp('Started') ??
      '1970-01-01T00:00:00.000Z',
    agents: parseAgents(reader, file),
    errors: (reader.optionalSection('Errors') ? listItems(reader.section('Errors')) : []).map(
      (item) => item.text,
    ),
  };
  if (!reader.optionalSection('Agent Ledger') && checkpoint.agents.length > 0)
    readStatedMetrics(reader, checkpoint);
  const started = metadata.optionalTimestamp('Started');
  const completed = metadata.optionalTimestamp('Completed');
  const duration = metadata.optionalSeconds('Duration');
  if (started !== undefined) checkpoint.started = started;
  if (completed !== undefined) checkpoint.completed = completed;
  if (duration !== undefined) checkpoint.duration = duration;
  const nextSection = reader.optionalSection('Next Phase');
  if (nextSection) {
    const fields = keyValues(nextSection);
    const next = fields.get('phase number');
    const nextNum = next ? parseNumberText(next.value) : undefined;
    const nextName = fields.get('phase name')?.value;
    if (nextNum !== undefined) {
      checkpoint.next_phase = nextNum;
      if (nextName !== undefined && nextName !== '' && nextName !== 'None')
        checkpoint.next_phase_name = nextName;
    }
  }
  return checkpoint;
}

function parseAgents(reader: HeadReader, file: string): AgentEntry[] {
  const section = reader.section('Agents in Phase');
  const agents = listItems(section).map((item): AgentEntry => {
    const colon = item.text.lastIndexOf(':');
    const status = item.text
      .slice(colon + 1)
      .trim()
      .toLowerCase() as AgentStatus;
    if (colon <= 0 || !AGENT_STATUSES.includes(status)) {
      throw corrupt(
        file,
        item.line,
        `agent item ${JSON.stringify(item.text)} is not "{agent_name}: {${AGENT_STATUSES.join('|')}}"`,
      );
    }
    const agentName = item.text.slice(0, colon).trim();
    const problem = agentNameProblem(agentName);
    if (problem) throw corrupt(file, item.line, `agent name ${JSON.stringify(agentName)} ${problem}`);
    return { agent_name: agentName, status };
  });
  const ledgerSection = reader.optionalSection('Agent Ledger');
  if (!ledgerSection) return agents;
  const ledger = tableRows(ledgerSection);
  for (const { cells, line } of ledger?.slice(1) ?? []) {
    const agent = agents.find((entry) => entry.agent_name === cells[0]);
    if (!agent) continue;
    const [, outputFile, tokens, input, output, cost, duration] = cells;
    if (outputFile && outputFile !== MISSING && outputFile !== `${agent.agent_name}.md`) {
      const problem = outputFileProblem(outputFile);
      if (problem)
        throw corrupt(
          file,
          line,
          `output file of agent ${agent.agent_name} ${JSON.stringify(outputFile)} ${problem}`,
        );
      agent.output_file = outputFile;
    }
    setCount(agent, 'input_tokens', input, file, line);
    setCount(agent, 'output_tokens', output, file, line);
    setCount(agent, 'tokens', tokens, file, line);
    // The ledger writes input + output where no total was given: that is no total of its own.
    if (agent.tokens !== undefined && agent.tokens === derivedTokens(agent)) delete agent.tokens;
    setAmount(agent, 'cost', cost, file, line);
    setAmount(agent, 'duration', duration, file, line);
  }
  return agents;
}

/**
 * A checkpoint with agents and no Agent Ledger (the documented form, written by hand): the phase's sums
 * as its Metrics section states them, each agent's time from Agent Execution Times, and the output
 * files Agent Outputs names, one for each agent in order.
 */
function readStatedMetrics(reader: HeadReader, checkpoint: CheckpointRecord): void {
  const { file } = reader;
  const metrics = reader.optionalSection('Metrics') && reader.fields('Metrics');
  if (metrics) {
    const count = (key: string) => metrics.optionalInteger(key) ?? 0;
    checkpoint.totals = {
      total_tokens: count('Total Tokens'),
      input_tokens: count('Input Tokens'),
      output_tokens: count('Output Tokens'),
      cost: metrics.optionalString('Cost') === undefined ? '0' : metrics.dollars('Cost'),
    };
    const times = metrics.optionalString('Agent Execution Times');
    for (const entry of times?.split(',') ?? []) {
      const colon = entry.lastIndexOf(':');
      const agent = checkpoint.agents.find((found) => found.agent_name === entry.slice(0, colon).trim());
      const seconds = parseSeconds(entry.slice(colon + 1));
      const line = metrics.field('Agent Execution Times').line;
      if (colon <= 0 || seconds === undefined)
        throw corrupt(
          file,
          line,
          `agent time ${JSON.stringify(entry.trim())} is not "{agent_name}: {seconds}s"`,
        );
      if (agent) agent.duration = seconds;
    }
  }
  const outputs =
    reader.optionalSection('Outputs') && keyValues(reader.section('Outputs')).get('agent outputs');
  const names =
    outputs && outputs.value !== MISSING ? outputs.value.split(',').map((name) => name.trim()) : [];
  if (names.length !== checkpoint.agents.length) return;
  for (const [i, agent] of checkpoint.agents.entries()) {
    const name = names[i] as string;
    if (name === `${agent.agent_name}.md`) continue;
    const problem = outputFileProblem(name);
    if (problem) throw corrupt(file, outputs?.line ?? 1, `output file ${JSON.stringify(name)} ${problem}`);
    agent.output_file = name;
  }
}

function setCount(
  agent: AgentEntry,
  key: 'tokens' | 'input_tokens' | 'output_tokens',
  text: string | undefined,
  file: string,
  line: number,
): void {
  if (text === undefined || text === '' || text === MISSING) return;
  const value = parseNumberText(text);
  if (value === undefined || !Number.isSafeInteger(value) || value < 0) {
    throw corrupt(
      file,
      line,
      `${key} of agent ${agent.agent_name} is ${JSON.stringify(text)}, expected a whole number`,
    );
  }
  agent[key] = value;
}

function setAmount(
  agent: AgentEntry,
  key: 'cost' | 'duration',
  text: string | undefined,
  file: string,
  line: number,
): void {
  if (text === undefined || text === '' || text === MISSING) return;
  if (key === 'cost') {
    const cost = parseDollars(text);
    if (cost === undefined) throw badAmount(agent, key, text, file, line);
    agent.cost = cost;
  } else {
    const seconds = parseSeconds(text);
    if (seconds === undefined) throw badAmount(agent, key, text, file, line);
    agent.duration = seconds;
  }
}

function badAmount(agent: AgentEntry, key: string, text: string, file: string, line: number): Error {
  return corrupt(
    file,
    line,
    `${key} of agent ${agent.agent_name} is ${JSON.stringify(text)}, expected a number`,
  );
}
