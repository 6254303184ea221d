import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { readDocument } from '../helpers/engine.js';
import { createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';
import { type GanttTask, ganttTasks, loadMermaid } from './mermaid.js';

const exportReport = async (client: Client) =>
  (await callOk<{ markdown: string }>(client, 'export_session', REF)).markdown;

/** The rows of the first table after `## {title}`, cells trimmed and unescaped. */
function tableAfter(markdown: string, title: string): string[][] {
  const lines = markdown.split('\n');
  const start = lines.indexOf(`## ${title}`);
  expect(start, `no "## ${title}" section`).toBeGreaterThan(-1);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|')) continue;
    const cells = line
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim().replace(/\\(.)/g, '$1'));
    if (cells.every((cell) => /^-+$/.test(cell))) continue;
    rows.push(cells);
  }
  return rows;
}

/** The text of the one ```mermaid block. */
function mermaidBlock(markdown: string): string {
  const blocks = [...markdown.matchAll(/^```mermaid\n([\s\S]*?)\n```$/gm)];
  expect(blocks).toHaveLength(1);
  return blocks[0]?.[1] ?? '';
}

const DATE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}$/;

/**
 * The gantt syntax rules the report relies on: a dateFormat line, then task lines
 * `name :tag, id, start, end` with no ':' in the name and both dates in that format.
 */
function checkGanttSyntax(
  gantt: string,
): Array<{ name: string; tag?: string; id: string; start: string; end: string }> {
  const [first, ...rest] = gantt.split('\n');
  expect(first).toBe('gantt');
  expect(rest).toContain('    dateFormat YYYY-MM-DDTHH:mm:ss.SSS');
  const tasks = [];
  for (const line of rest) {
    if (/^ {4}(title|dateFormat|axisFormat|section) /.test(line)) continue;
    const match = /^ {4}([^:#;]+) :(?:(done|active|crit), )?([a-z]\w*), (\S+), (\S+)$/.exec(line);
    expect(match, `not a gantt task line: ${JSON.stringify(line)}`).not.toBeNull();
    const [, name = '', tag, id = '', start = '', end = ''] = match ?? [];
    expect(start).toMatch(DATE);
    expect(end).toMatch(DATE);
    tasks.push({ name: name.trim(), ...(tag ? { tag } : {}), id, start, end });
  }
  return tasks;
}

/** mermaid parses the date-time without offset as local time, as `new Date` does. */
const local = (gantt: string) => new Date(gantt);
const ganttDate = (iso: string) => new Date(Date.parse(iso)).toISOString().slice(0, 23);

/** Parses the gantt with mermaid itself and checks every task against the syntax rules. */
async function validGantt(
  markdown: string,
): Promise<{ lines: ReturnType<typeof checkGanttSyntax>; tasks: GanttTask[] }> {
  const gantt = mermaidBlock(markdown);
  const lines = checkGanttSyntax(gantt);
  const mermaid = await loadMermaid();
  await expect(mermaid.parse(gantt)).resolves.toMatchObject({ diagramType: 'gantt' });
  const tasks = await ganttTasks(gantt);
  // mermaid reads an end it cannot parse as a duration and silently draws nothing: compare every date.
  expect(
    tasks.map((task) => ({
      id: task.id,
      name: task.task.trim(),
      start: task.startTime.getTime(),
      end: task.endTime.getTime(),
    })),
  ).toEqual(
    lines.map((line) => ({
      id: line.id,
      name: line.name,
      start: local(line.start).getTime(),
      end: local(line.end).getTime(),
    })),
  );
  return { lines, tasks };
}

async function save(client: Client, phase_num: number, status: string, extra: Record<string, unknown> = {}) {
  await callOk(client, 'save_checkpoint', { ...REF, phase_num, status, agents: [], ...extra });
}

/**
 * Phase 1 completed and approved, phase 2 completed then sent back, phase 3 running; known times,
 * tokens and costs that add up exactly in binary.
 */
async function reviewedSession(client: Client): Promise<void> {
  await createSession(client);
  await callOk(client, 'save_agent_output', {
    ...REF,
    phase_num: 1,
    agent_name: 'analyst',
    output_content: 'concept',
    model: 'claude-x',
    input_tokens: 1000,
    output_tokens: 500,
  });
  await saveOutput(client, 1, 'critic', 'critique');
  await save(client, 1, 'completed', {
    started: '2024-11-24T10:00:00Z',
    completed: '2024-11-24T10:02:00.500Z',
    agents: [
      {
        agent_name: 'analyst',
        status: 'completed',
        input_tokens: 1000,
        output_tokens: 500,
        cost: 0.25,
        duration: 30,
      },
      { agent_name: 'critic', status: 'completed', tokens: 800, cost: 0.125, duration: 12.5 },
    ],
  });
  await callOk(client, 'save_user_feedback', {
    ...REF,
    phase_num: 1,
    reviewed: true,
    approved: true,
    comments: 'Solid *start*.\n## Output\nkept verbatim',
  });
  await saveOutput(client, 2, 'market', 'market study');
  await save(client, 2, 'completed', {
    started: '2024-11-24T10:05:00Z',
    completed: '2024-11-24T10:10:00Z',
    agents: [
      {
        agent_name: 'market',
        status: 'completed',
        input_tokens: 2000,
        output_tokens: 1000,
        cost: 1.5,
        duration: 60,
      },
    ],
  });
  await callOk(client, 'save_user_feedback', {
    ...REF,
    phase_num: 2,
    reviewed: true,
    approved: false,
    action: 'retry_with_changes',
    requested_changes: ['Add a competitor table', 'Cite sources'],
  });
  await save(client, 3, 'in_progress', {
    started: '2024-11-24T10:12:00Z',
    duration: 90,
    agents: [{ agent_name: 'niche', status: 'in_progress' }],
  });
}

describe('export_session', () => {
  it('export_session has the phase table, the agent ledger with a right Total row, the reviews and the files', async () => {
    const { client } = await connectedClient();
    await reviewedSession(client);
    const markdown = await exportReport(client);
    expect(markdown.startsWith('# Session Report: s1\n')).toBe(true);
    expect(tableAfter(markdown, 'Phases')).toEqual([
      ['Phase', 'Name', 'Status', 'Started', 'Completed', 'Duration', 'Retries', 'Tokens', 'Cost'],
      [
        '1',
        'Concept Expansion',
        'completed',
        '2024-11-24T10:00:00Z',
        '2024-11-24T10:02:00.500Z',
        '120.5s',
        '0',
        '2300',
        '$0.375',
      ],
      [
        '2',
        'Market Research',
        'requires_retry',
        '2024-11-24T10:05:00Z',
        '2024-11-24T10:10:00Z',
        '300s',
        '1',
        '3000',
        '$1.5',
      ],
      ['3', 'Niche Selection', 'in_progress', '2024-11-24T10:12:00Z', '-', '90s', '0', '0', '$0'],
      ['6', 'Validation', 'pending', '-', '-', '-', '-', '-', '-'],
      ['7', 'Final Synthesis', 'pending', '-', '-', '-', '-', '-', '-'],
    ]);
    const ledger = tableAfter(markdown, 'Agents');
    expect(ledger).toEqual([
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
      [
        '1 Concept Expansion',
        'analyst',
        'completed',
        'claude-x',
        '1000',
        '500',
        '1500',
        '$0.25',
        '30s',
        'phase_1_concept/analyst.md',
      ],
      [
        '1 Concept Expansion',
        'critic',
        'completed',
        '-',
        '-',
        '-',
        '800',
        '$0.125',
        '12.5s',
        'phase_1_concept/critic.md',
      ],
      [
        '2 Market Research',
        'market',
        'completed',
        '-',
        '2000',
        '1000',
        '3000',
        '$1.5',
        '60s',
        'phase_2_market_research/market.md',
      ],
      [
        '3 Niche Selection',
        'niche',
        'in_progress',
        '-',
        '-',
        '-',
        // No tokens reported, none derivable: unknown, not zero.
        '-',
        '-',
        '-',
        'phase_3_niche_selection/niche.md',
      ],
      ['Total', '', '', '', '3000', '1500', '5300', '$1.875', '102.5s', ''],
    ]);
    // The Total row is the sum of the rows above it, column by column.
    const body = ledger.slice(1, -1);
    const total = ledger.at(-1) ?? [];
    const sum = (column: number, unit = '') =>
      body.reduce((acc, row) => acc + (row[column] === '-' ? 0 : Number(row[column]?.replace(unit, ''))), 0);
    expect(total[4]).toBe(String(sum(4)));
    expect(total[5]).toBe(String(sum(5)));
    expect(total[6]).toBe(String(sum(6)));
    expect(total[7]).toBe(`$${sum(7, '$')}`);
    expect(total[8]).toBe(`${sum(8, 's')}s`);
    // ...and agrees with the manifest's totals in the header.
    expect(markdown).toContain('\n- Total Tokens: 5300\n- Total Cost: $1.875\n');

    const reviews = markdown.slice(markdown.indexOf('## Reviews'), markdown.indexOf('## Files'));
    expect(reviews).toContain(
      '### Phase 1: Concept Expansion\n\n- Reviewed: true\n- Approved: true\n- Action: approved',
    );
    expect(reviews).toContain('- Requested Changes: none');
    expect(reviews).toContain('Solid *start*.');
    expect(reviews).toContain(
      '### Phase 2: Market Research\n\n- Reviewed: true\n- Approved: false\n- Action: retry_with_changes',
    );
    expect(reviews).toContain('- Retry Count: 1');
    expect(reviews).toContain('- Requested Changes: Add a competitor table; Cite sources');
    // A heading inside a comment stays inside the quote: the report keeps its own structure.
    expect(markdown.split('\n').filter((line) => /^#{1,6} /.test(line))).toEqual([
      '# Session Report: s1',
      '## Phases',
      '## Timeline',
      '## Agents',
      '## Reviews',
      '### Phase 1: Concept Expansion',
      '### Phase 2: Market Research',
      '## Files',
    ]);
  });

  it('export_session links every document of the session, and every link resolves to a file', async () => {
    const m = await connectedClient();
    const { client } = m;
    await reviewedSession(client);
    const markdown = await exportReport(client);
    const files = markdown.slice(markdown.indexOf('## Files'));
    const links = [...files.matchAll(/^- \[([^\]]+)\]\(([^)]+)\)$/gm)].map((match) => {
      expect(match[1]).toBe(match[2]);
      return match[2] ?? '';
    });
    const stored: string[] = ['session_manifest.md'];
    for (const entry of await m.store.list(sessionDocument())) {
      if (entry.kind !== 'directory') continue;
      for (const file of await m.store.list(sessionDocument(entry.name))) {
        if (file.name.endsWith('.md')) stored.push(`${entry.name}/${file.name}`);
      }
    }
    expect([...links].sort()).toEqual(stored.sort());
    for (const link of links)
      expect(await readDocument(m, ...sessionDocument(...link.split('/')))).toBeTypeOf('string');
  });

  it('export_session equals the report.md resource, and a missing session is NOT_FOUND for both', async () => {
    const { client } = await connectedClient();
    await reviewedSession(client);
    const markdown = await exportReport(client);
    const resource = await client.readResource({ uri: 'checkpoint://p1/sessions/s1/report.md' });
    expect(resource.contents).toEqual([
      { uri: 'checkpoint://p1/sessions/s1/report.md', mimeType: 'text/markdown', text: markdown },
    ]);
    await expectToolError(client, 'export_session', { ...REF, session_id: 'nope' }, 'NOT_FOUND');
    await expect(
      client.readResource({ uri: 'checkpoint://p1/sessions/nope/report.md' }),
    ).rejects.toMatchObject({
      code: -32602,
      data: { uri: 'checkpoint://p1/sessions/nope/report.md' },
    });
  });

  it('the gantt of the reviewed session parses with mermaid and has the right bars', async () => {
    const { client } = await connectedClient();
    await reviewedSession(client);
    const { lines, tasks } = await validGantt(await exportReport(client));
    expect(lines).toEqual([
      {
        name: 'Concept Expansion',
        tag: 'done',
        id: 'p1',
        start: '2024-11-24T10:00:00.000',
        end: '2024-11-24T10:02:00.500',
      },
      {
        name: 'Market Research',
        tag: 'crit',
        id: 'p2',
        start: '2024-11-24T10:05:00.000',
        end: '2024-11-24T10:10:00.000',
      },
      // Still running: the bar ends where its duration says.
      {
        name: 'Niche Selection',
        tag: 'active',
        id: 'p3',
        start: '2024-11-24T10:12:00.000',
        end: '2024-11-24T10:13:30.000',
      },
    ]);
    expect(
      tasks.map((task) => [task.id, Boolean(task.done), Boolean(task.crit), Boolean(task.active)]),
    ).toEqual([
      ['p1', true, false, false],
      ['p2', false, true, false],
      ['p3', false, false, true],
    ]);
  });

  it('the gantt stays valid mermaid through every state of a session', async () => {
    const { client } = await connectedClient();
    await createSession(client, 'full');
    const snapshot = async () => validGantt(await exportReport(client));

    // Nothing started: an empty chart, still a valid one.
    expect((await snapshot()).lines).toEqual([]);

    // A phase running with times from the server's clock.
    await save(client, 1, 'in_progress', { agents: [{ agent_name: 'a1', status: 'in_progress' }] });
    const running = await snapshot();
    expect(running.lines).toMatchObject([{ id: 'p1', tag: 'active' }]);
    const state = await callOk<{ last_updated: string }>(client, 'load_session', REF);
    expect(Date.parse(`${running.lines[0]?.start}Z`)).toBeLessThanOrEqual(Date.parse(state.last_updated));

    // Failed, then a retry requested, then completed.
    await save(client, 1, 'failed', {
      agents: [{ agent_name: 'a1', status: 'failed' }],
      errors: ['timeout: 30s'],
    });
    expect((await snapshot()).lines).toMatchObject([{ id: 'p1', tag: 'crit' }]);
    await callOk(client, 'save_user_feedback', {
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: false,
      action: 'retry_with_changes',
      requested_changes: ['Try again: with # and ; and : in it'],
    });
    expect((await snapshot()).lines).toMatchObject([{ id: 'p1', tag: 'crit' }]);
    await save(client, 1, 'completed', {
      started: '2024-11-24T23:59:59.999Z',
      completed: '2024-11-25T00:00:00Z',
    });

    // Skipped phases: one by checkpoint after its agent saved an output (a recorded start, so a bar),
    // one by review only (no bar).
    await saveOutput(client, 2, 'a2', 'partial market notes');
    await save(client, 2, 'skipped', { agents: [{ agent_name: 'a2', status: 'skipped' }] });
    await callOk(client, 'save_user_feedback', {
      ...REF,
      phase_num: 3,
      reviewed: true,
      approved: false,
      action: 'skip_phase',
    });
    // A phase that finished within the same millisecond still gets a bar mermaid can draw.
    await save(client, 4, 'completed', {
      started: '2024-11-26T08:00:00Z',
      completed: '2024-11-26T08:00:00Z',
    });
    for (const phase of [5, 6, 7]) {
      await save(client, phase, 'completed', {
        started: `2024-11-2${phase}T09:00:00+02:00`,
        duration: 3600.25,
        completed: `2024-11-2${phase}T10:00:00.250+02:00`,
      });
    }
    const done = await snapshot();
    expect(done.lines.map((line) => [line.id, line.tag])).toEqual([
      ['p1', 'done'],
      ['p2', 'done'],
      ['p4', 'done'],
      ['p5', 'done'],
      ['p6', 'done'],
      ['p7', 'done'],
    ]);
    expect(done.lines[0]).toMatchObject({ start: '2024-11-24T23:59:59.999', end: '2024-11-25T00:00:00.000' });
    expect(done.lines[2]).toMatchObject({ start: '2024-11-26T08:00:00.000', end: '2024-11-26T08:00:00.001' });
    // Offsets become UTC, the zone of every other time in the report.
    expect(done.lines[3]).toMatchObject({
      start: ganttDate('2024-11-25T09:00:00+02:00'),
      end: '2024-11-25T08:00:00.250',
    });
    for (const task of done.tasks) expect(task.endTime.getTime()).toBeGreaterThan(task.startTime.getTime());
    const report = await exportReport(client);
    expect(report).toContain('- Status: completed');
    expect(tableAfter(report, 'Phases').map((row) => row[2])).toEqual([
      'Status',
      'completed',
      'skipped',
      'skipped',
      'completed',
      'completed',
      'completed',
      'completed',
    ]);
  });

  it('mermaid itself rejects a broken gantt, so the check above can fail', async () => {
    const mermaid = await loadMermaid();
    await expect(mermaid.parse('gantt\n    section Phases\n    a task without data')).rejects.toThrow();
    // A date mermaid cannot read is not a syntax error: only comparing the computed dates catches it.
    const tasks = await ganttTasks(
      'gantt\n    dateFormat YYYY-MM-DDTHH:mm:ss.SSS\n    section Phases\n    Bad :p1, 2024-11-24T10:00:00.000, 2024-11-24 10:02',
    );
    expect(tasks[0]?.endTime.getTime()).not.toBe(local('2024-11-24T10:02:00.000').getTime());
  });
});
