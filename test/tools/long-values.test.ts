import { describe, expect, it } from 'vitest';
import { encodedSize } from '../../src/checkpoint/model/budget.js';
import { MAX_LIST_BYTES, MAX_VALUE_BYTES } from '../../src/checkpoint/model/values.js';
import { MAX_PROJECT_NAME_BYTES } from '../../src/checkpoint/project-manager.js';
import { type Connected, callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { documentTree, editDocument, readDocument } from '../helpers/engine.js';
import { completePhase, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

const OUTPUT = { ...REF, phase_num: 1, agent_name: 'writer', output_content: 'text' };
const CHECKPOINT = { ...REF, phase_num: 1, status: 'failed', agents: [] };
const REVIEW = { ...REF, phase_num: 1, reviewed: true, approved: false, action: 'retry_with_changes' };

/** A one-line value of `bytes` bytes of UTF-8 (two-byte letters, so a count of characters would pass it). */
function lineOf(bytes: number): string {
  return 'é'.repeat(Math.floor(bytes / 2)) + 'x'.repeat(bytes % 2);
}

async function refusedWithoutWriting(
  m: Connected,
  tool: string,
  args: Record<string, unknown>,
): Promise<string> {
  const before = await documentTree(m);
  const text = await expectToolError(m.client, tool, args, 'LIMIT_EXCEEDED');
  expect(await documentTree(m), `${tool} wrote something though it failed: ${text}`).toEqual(before);
  return text;
}

async function withSession(): Promise<Connected> {
  const m = await connectedClient();
  await createSession(m.client);
  return m;
}

describe('one-line values have a length limit, checked before anything is written', () => {
  const over = lineOf(MAX_VALUE_BYTES + 1);
  const cases: Array<[string, string, Record<string, unknown>]> = [
    ['model', 'save_agent_output', { ...OUTPUT, model: over }],
    ['error_type', 'save_agent_output', { ...OUTPUT, error_type: over }],
    ['error_message', 'save_agent_output', { ...OUTPUT, error_message: over }],
    ['tools_used[1]', 'save_agent_output', { ...OUTPUT, tools_used: ['search', over] }],
    ['errors[0]', 'save_checkpoint', { ...CHECKPOINT, errors: [over] }],
    ['requested_changes[0]', 'save_user_feedback', { ...REVIEW, requested_changes: [over] }],
  ];

  it.each(cases)(
    '%s over %d bytes is LIMIT_EXCEEDED naming it and where longer text goes',
    async (field, tool, args) => {
      const m = await withSession();
      const text = await refusedWithoutWriting(m, tool, args);
      expect(text).toMatch(
        new RegExp(
          `^LIMIT_EXCEEDED: ${field.replace(/[[\]]/g, '\\$&')} is ${MAX_VALUE_BYTES + 1} bytes of UTF-8, over the limit of ${MAX_VALUE_BYTES}; nothing was saved\\. A value of one line is at most ${MAX_VALUE_BYTES} bytes: shorten it, or `,
        ),
      );
    },
  );

  it('takes a value of exactly the limit, and stores it whole', async () => {
    const m = await withSession();
    const model = lineOf(MAX_VALUE_BYTES);
    await callOk(m.client, 'save_agent_output', { ...OUTPUT, model });
    const output = await callOk<{ model: string }>(m.client, 'get_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'writer',
    });
    expect(output.model).toBe(model);
  });

  it(`refuses a project_name over ${MAX_PROJECT_NAME_BYTES} bytes, and takes one of exactly that`, async () => {
    const m = await connectedClient();
    const text = await refusedWithoutWriting(m, 'create_project', {
      user_id: 'u1',
      startup_idea: 'idea',
      project_name: lineOf(MAX_PROJECT_NAME_BYTES + 1),
    });
    expect(text).toContain(
      `project_name is ${MAX_PROJECT_NAME_BYTES + 1} bytes of UTF-8, over the limit of ${MAX_PROJECT_NAME_BYTES}`,
    );
    const name = lineOf(MAX_PROJECT_NAME_BYTES);
    const created = await callOk<{ project_name: string }>(m.client, 'create_project', {
      user_id: 'u1',
      startup_idea: 'idea',
      project_name: name,
    });
    expect(created.project_name).toBe(name);
  });
});

describe('lists of one-line values have a length limit together', () => {
  const item = lineOf(MAX_VALUE_BYTES);
  const fits = Array.from({ length: MAX_LIST_BYTES / MAX_VALUE_BYTES }, () => item);
  const over = [...fits, 'one more'];
  const cases: Array<[string, string, (list: string[]) => Record<string, unknown>]> = [
    ['errors', 'save_checkpoint', (errors) => ({ ...CHECKPOINT, errors })],
    ['requested_changes', 'save_user_feedback', (requested_changes) => ({ ...REVIEW, requested_changes })],
    ['tools_used', 'save_agent_output', (tools_used) => ({ ...OUTPUT, tools_used })],
  ];

  it.each(cases)(
    '%s together over the limit is LIMIT_EXCEEDED; exactly the limit is saved',
    async (field, tool, args) => {
      const m = await withSession();
      const text = await refusedWithoutWriting(m, tool, args(over));
      expect(text).toMatch(
        new RegExp(
          `^LIMIT_EXCEEDED: ${field} together are ${MAX_LIST_BYTES + 8} bytes of UTF-8, over the limit of ${MAX_LIST_BYTES}; nothing was saved\\. `,
        ),
      );
      await callOk(m.client, tool, args(fits));
    },
  );
});

describe('an answer a client could not read in one message', () => {
  it('is LIMIT_EXCEEDED naming the cause, not a dropped connection, when a hand edit left a huge value', async () => {
    const m = await withSession();
    await saveOutput(m.client, 1, 'writer', 'short');
    const path = sessionDocument('phase_1_concept', 'writer.md');
    const text = await readDocument(m, ...path);
    await editDocument(m, path, text.replace(/- Model: .*/, `- Model: ${'m'.repeat(6 * 1024 * 1024)}`));
    const message = await expectToolError(
      m.client,
      'get_agent_output',
      { ...REF, phase_num: 1, agent_name: 'writer', max_chars: 5 },
      'LIMIT_EXCEEDED',
    );
    expect(message).toMatch(
      /^LIMIT_EXCEEDED: the answer would be \d+ bytes of JSON, more than a client reads in one message \(the response budget is 1048576 bytes\); nothing was changed\. .*validate_session/,
    );
    // The connection stands: the next call is answered.
    expect(await callOk(m.client, 'load_session', REF)).toMatchObject({ session_id: REF.session_id });
  });
});

describe('export_session', () => {
  it('cuts a report past the response budget, saying how much and where the rest is', async () => {
    const budget = 64 * 1024;
    const m = await connectedClient({ limits: { maxResponseBytes: budget } });
    await createSession(m.client);
    for (const phase_num of [1, 2, 3]) {
      await completePhase(m.client, phase_num, []);
      // Comments are quoted in excerpts; requested changes are listed whole (up to MAX_LIST_BYTES a review).
      await callOk(m.client, 'save_user_feedback', {
        ...REVIEW,
        phase_num,
        requested_changes: Array.from({ length: 16 }, (_, i) => `Change ${i}: ${'more detail '.repeat(300)}`),
      });
    }
    const { markdown } = await callOk<{ markdown: string }>(m.client, 'export_session', REF);
    expect(encodedSize(markdown)).toBeLessThanOrEqual(budget);
    expect(markdown).toMatch(
      /\n\n\[Cut to fit the response budget: \d+ of \d+ characters\. Every checkpoint, review and output is a file under p1\/sessions\/s1: read them as resources, or an output with get_agent_output\]$/,
    );
    expect(markdown.startsWith('# ')).toBe(true);
  });

  it('answers a report within the budget whole, with no note', async () => {
    const m = await withSession();
    await completePhase(m.client, 1, []);
    const { markdown } = await callOk<{ markdown: string }>(m.client, 'export_session', REF);
    expect(markdown).not.toContain('[Cut to fit');
  });
});
