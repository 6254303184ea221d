import type { Blockquote, Code, List, Paragraph, RootContent } from 'mdast';
import {
  agentOutputFile,
  agentTokens,
  type CheckpointRecord,
  checkpointMetrics,
} from '../formats/checkpoint.js';
import { formatDollars, formatSeconds, orMissing } from '../formats/fields.js';
import { heading, keyValueList, MISSING, renderDocument, table } from '../formats/markdown.js';
import { parseUserFeedback, type UserFeedbackRecord } from '../formats/user-feedback.js';
import { decimalNumber, decimalOf, sumDecimals } from '../model/decimal.js';
import {
  CHECKPOINT_FILE,
  FEEDBACK_FILE,
  feedbackFile,
  MANIFEST_FILE,
  type SessionRef,
} from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import { readAgentOutputs } from '../session/outputs.js';
import type { SessionFiles } from '../session/session-files.js';
import { planOfManifest } from '../session/session-state.js';
import type { Engine } from '../store/engine.js';

/** Longest review comment quoted in the report; the file holds the rest. */
const COMMENT_EXCERPT = 2000;

/**
 * One markdown document for people: the phase table, a Mermaid gantt of phase timings, every agent's
 * tokens and cost with totals, the reviews, and links to each file (relative to the session folder).
 */
export async function exportSession(store: Engine, files: SessionFiles, ref: SessionRef): Promise<string> {
  const { manifest, checkpoints } = await files.load(ref);
  const phases = planOfManifest(manifest).phases;
  const ledgerRows: string[][] = [];
  // A total of values nobody reported is unknown, as each of them is: undefined until one is known.
  const totals: {
    input?: number;
    output?: number;
    tokens?: number;
    costs: string[];
    durations: string[];
  } = { costs: [], durations: [] };
  const add = (sum: number | undefined, value: number | undefined) =>
    value === undefined ? sum : (sum ?? 0) + value;
  const reviews: RootContent[] = [];
  const links: string[] = [MANIFEST_FILE];
  for (const phase of phases) {
    const checkpoint = checkpoints.get(phase.num);
    const outputs = await readAgentOutputs(store, ref, phase);
    if (checkpoint) links.push(`${phase.dir}/${CHECKPOINT_FILE}`);
    for (const output of outputs) links.push(`${phase.dir}/${output.agent_name}.md`);
    // A checkpoint with no ledger states only the phase's sums: they count in the totals.
    const stated = checkpoint?.totals;
    if (stated) {
      totals.input = add(totals.input, stated.input_tokens);
      totals.output = add(totals.output, stated.output_tokens);
      totals.tokens = add(totals.tokens, stated.total_tokens);
      totals.costs.push(stated.cost);
    }
    for (const agent of checkpoint?.agents ?? []) {
      const model = outputs.find((output) => output.agent_name === agent.agent_name)?.model;
      const tokens = agentTokens(agent);
      totals.input = add(totals.input, agent.input_tokens);
      totals.output = add(totals.output, agent.output_tokens);
      totals.tokens = add(totals.tokens, tokens);
      if (agent.cost !== undefined) totals.costs.push(agent.cost);
      if (agent.duration !== undefined) totals.durations.push(decimalOf(agent.duration));
      ledgerRows.push([
        `${phase.num} ${phase.name}`,
        agent.agent_name,
        agent.status,
        model ?? MISSING,
        orMissing(agent.input_tokens),
        orMissing(agent.output_tokens),
        orMissing(tokens),
        agent.cost === undefined ? MISSING : formatDollars(agent.cost),
        formatSeconds(agent.duration),
        `${phase.dir}/${agentOutputFile(agent)}`,
      ]);
    }
    const feedbackRel = feedbackFile(ref, phase);
    const feedbackText = await store.read(feedbackRel);
    if (feedbackText !== undefined) {
      links.push(`${phase.dir}/${FEEDBACK_FILE}`);
      reviews.push(...review(phase, parseUserFeedback(feedbackText, store.label(feedbackRel))));
    }
  }
  ledgerRows.push([
    'Total',
    '',
    '',
    '',
    orMissing(totals.input),
    orMissing(totals.output),
    orMissing(totals.tokens),
    totals.costs.length > 0 ? formatDollars(sumDecimals(totals.costs)) : MISSING,
    totals.durations.length > 0 ? formatSeconds(decimalNumber(sumDecimals(totals.durations))) : MISSING,
    '',
  ]);
  return renderDocument([
    heading(1, `Session Report: ${manifest.session_id}`),
    keyValueList([
      ['Project', manifest.project_id],
      ['User', manifest.user_id],
      ['Workflow', `${manifest.workflow_type} (${manifest.execution_mode})`],
      ['Status', manifest.status],
      ['Created', manifest.created],
      ['Last Updated', manifest.last_updated],
      ['Revision', String(manifest.revision)],
      ['Total Duration', formatSeconds(manifest.metrics.total_duration)],
      ['Total Tokens', String(manifest.metrics.total_tokens)],
      ['Total Cost', formatDollars(manifest.metrics.total_cost)],
    ]),
    heading(2, 'Phases'),
    table(
      ['Phase', 'Name', 'Status', 'Started', 'Completed', 'Duration', 'Retries', 'Tokens', 'Cost'],
      phases.map((phase) => phaseRow(phase, checkpoints.get(phase.num))),
    ),
    heading(2, 'Timeline'),
    gantt(manifest.session_id, phases, checkpoints),
    heading(2, 'Agents'),
    table(
      [
        'Phase',
        'Agent',
        'Status',
        'Model',
        'Input Tokens',
        'Output Tokens',
        'Tokens',
        'Cost',
        'Duration',
        'Output',
      ],
      ledgerRows,
    ),
    heading(2, 'Reviews'),
    ...(reviews.length > 0 ? reviews : [paragraph('No phase has been reviewed yet.')]),
    heading(2, 'Files'),
    linkList(links),
  ]);
}

function phaseRow(phase: PhaseDefinition, checkpoint: CheckpointRecord | undefined): string[] {
  const metrics = checkpoint ? checkpointMetrics(checkpoint) : undefined;
  return [
    String(phase.num),
    phase.name,
    checkpoint?.status ?? 'pending',
    orMissing(checkpoint?.started),
    orMissing(checkpoint?.completed),
    phaseDuration(checkpoint),
    orMissing(checkpoint?.retry_count),
    orMissing(metrics?.total_tokens),
    metrics ? formatDollars(metrics.cost) : MISSING,
  ];
}

/** The phase's duration; where its span is unknown, says so with the time its agents report. */
function phaseDuration(checkpoint: CheckpointRecord | undefined): string {
  if (checkpoint?.duration !== undefined || checkpoint === undefined)
    return formatSeconds(checkpoint?.duration);
  const reported = checkpoint.agents.flatMap((agent) =>
    agent.duration === undefined ? [] : [decimalOf(agent.duration)],
  );
  if (reported.length === 0) return MISSING;
  return `unknown (agents report ${formatSeconds(decimalNumber(sumDecimals(reported)))})`;
}

const GANTT_TAGS: Record<string, string> = {
  completed: 'done, ',
  skipped: 'done, ',
  in_progress: 'active, ',
  failed: 'crit, ',
  requires_retry: 'crit, ',
};

/**
 * A Mermaid gantt of the phases that have a start time. A phase still running ends where its duration
 * says, else at its last checkpoint: the report shows what is recorded, so two exports agree.
 */
export function gantt(
  title: string,
  phases: readonly PhaseDefinition[],
  checkpoints: ReadonlyMap<number, CheckpointRecord>,
): Code {
  const lines = [
    'gantt',
    `    title Session ${ganttText(title)}`,
    '    dateFormat YYYY-MM-DDTHH:mm:ss.SSS',
    '    axisFormat %H:%M',
    '    section Phases',
  ];
  for (const phase of phases) {
    const checkpoint = checkpoints.get(phase.num);
    if (checkpoint?.started === undefined) continue;
    const start = Date.parse(checkpoint.started);
    const end =
      checkpoint.completed !== undefined
        ? Date.parse(checkpoint.completed)
        : checkpoint.duration !== undefined
          ? start + checkpoint.duration * 1000
          : Date.parse(checkpoint.updated);
    const tag = GANTT_TAGS[checkpoint.status] ?? '';
    lines.push(
      `    ${ganttText(phase.name)} :${tag}p${phase.num}, ${ganttTime(start)}, ${ganttTime(Math.max(end, start + 1))}`,
    );
  }
  return { type: 'code', lang: 'mermaid', value: lines.join('\n') };
}

function ganttTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 23);
}

function ganttText(text: string): string {
  return text.replace(/[:;#\n\r]/g, ' ');
}

function review(phase: PhaseDefinition, feedback: UserFeedbackRecord): RootContent[] {
  const nodes: RootContent[] = [
    heading(3, `Phase ${phase.num}: ${phase.name}`),
    keyValueList([
      ['Reviewed', String(feedback.reviewed)],
      ['Approved', String(feedback.approved)],
      ['Action', feedback.action],
      ['Retry Count', String(feedback.retry_count)],
      ['Timestamp', feedback.timestamp],
      [
        'Requested Changes',
        feedback.requested_changes.length > 0 ? feedback.requested_changes.join('; ') : 'none',
      ],
    ]),
  ];
  const comments = feedback.comments.trim();
  if (comments !== '') {
    const excerpt = comments.length > COMMENT_EXCERPT ? `${comments.slice(0, COMMENT_EXCERPT)} …` : comments;
    const quote: Blockquote = { type: 'blockquote', children: [{ type: 'code', value: excerpt }] };
    nodes.push(quote);
  }
  return nodes;
}

function paragraph(text: string): Paragraph {
  return { type: 'paragraph', children: [{ type: 'text', value: text }] };
}

/** Links relative to the session folder, where the report belongs. */
function linkList(paths: readonly string[]): List {
  return {
    type: 'list',
    ordered: false,
    spread: false,
    children: paths.map((path) => ({
      type: 'listItem',
      spread: false,
      children: [
        {
          type: 'paragraph',
          children: [{ type: 'link', url: path, children: [{ type: 'text', value: path }] }],
        },
      ],
    })),
  };
}
