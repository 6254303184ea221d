import { type CheckpointRecord, phaseMetrics } from '../formats/checkpoint.js';
import { formatDollars, parseDollars } from '../formats/fields.js';
import { keyValues, MISSING, parseHead, tableRows } from '../formats/markdown.js';
import { parseNumberText } from '../model/values.js';

/**
 * What a person changed in a checkpoint.md with an Agent Ledger that no reader counts: a Metrics sum
 * that differs from the ledger's rows (they are what load_session and export add up), and a ledger row
 * of an agent that Agents in Phase does not list.
 */
export function uncountedEdits(text: string, label: string, checkpoint: CheckpointRecord): string[] {
  if (checkpoint.totals !== undefined) return [];
  const head = parseHead(text);
  const warnings: string[] = [];
  const sums = phaseMetrics(checkpoint.agents);
  const metrics = head.sections.get('metrics');
  const fields = metrics ? keyValues(metrics) : new Map();
  const counted: Array<[string, string | undefined, string]> = [
    ['total tokens', fields.get('total tokens')?.value, String(sums.total_tokens)],
    ['input tokens', fields.get('input tokens')?.value, String(sums.input_tokens)],
    ['output tokens', fields.get('output tokens')?.value, String(sums.output_tokens)],
    ['cost', fields.get('cost')?.value, formatDollars(sums.cost)],
  ];
  for (const [key, stated, counts] of counted) {
    if (stated === undefined || stated === '' || stated === MISSING) continue;
    const same =
      key === 'cost' ? parseDollars(stated) === sums.cost : parseNumberText(stated) === Number(counts);
    if (same) continue;
    const field = fields.get(key);
    warnings.push(
      `${label}:${field?.line ?? 1}: ${field?.key ?? key} is ${stated} but the Agent Ledger's rows add up to ${counts}: every reader counts the rows; make the two agree (edit either, or save_checkpoint again)`,
    );
  }
  const ledger = head.sections.get('agent ledger');
  for (const { cells, line } of (ledger && tableRows(ledger)?.slice(1)) ?? []) {
    const name = cells[0] ?? '';
    if (!checkpoint.agents.some((agent) => agent.agent_name === name)) {
      warnings.push(
        `${label}:${line}: the Agent Ledger row of ${JSON.stringify(name)} names no agent of Agents in Phase; its tokens and cost are not counted`,
      );
    }
  }
  return warnings;
}
