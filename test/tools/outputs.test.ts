import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { editDocument, readDocument } from '../helpers/engine.js';
import { completePhase, corrupt, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const TRICKY =
  '---\ntitle: front matter\n---\n## Output\n## Metadata\n- Agent: evil\nSetext\n===\n| a |\n|---|\n```\ncode\n```\r\ntrailing  \n';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

interface Page {
  content: string;
  offset: number;
  total_chars: number;
  next_offset?: number;
}

describe('save_agent_output', () => {
  it('save_agent_output stores the content byte for byte with its SHA-256 and metadata', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    const saved = await callOk(client, 'save_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: TRICKY,
      model: 'claude-sonnet-4',
      input_tokens: 1000,
      output_tokens: 500,
      duration: 12.5,
      tools_used: ['web_search', 'calculator'],
    });
    expect(saved).toEqual({
      phase_num: 1,
      agent_name: 'concept_expansion',
      file: 'p1/sessions/s1/phase_1_concept/concept_expansion.md',
      sha256: createHash('sha256').update(TRICKY, 'utf8').digest('hex'),
    });
    const file = await readDocument(m, ...sessionDocument('phase_1_concept', 'concept_expansion.md'));
    expect(file.endsWith(`## Output\n\n${TRICKY}`)).toBe(true);
    expect(file).toContain('- Model: claude-sonnet-4');
    const page = await callOk(client, 'get_agent_output', {
      ...REF,
      phase_num: 1,
      agent_name: 'concept_expansion',
    });
    expect(page).toEqual({
      agent_name: 'concept_expansion',
      phase_num: 1,
      status: 'completed',
      model: 'claude-sonnet-4',
      input_tokens: 1000,
      output_tokens: 500,
      duration: 12.5,
      executed: expect.stringMatching(ISO),
      content: TRICKY,
      offset: 0,
      total_chars: TRICKY.length,
      version: 1,
    });
  });

  it('save_agent_output keeps a failed run with its error details', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await callOk(client, 'save_agent_output', {
      ...REF,
      phase_num: 2,
      agent_name: 'market_research',
      output_content: '',
      status: 'failed',
      error_type: 'TimeoutError',
      error_message: 'search took too long',
      stack_trace: 'TimeoutError: search took too long\n    at search (agent.ts:10:5)\n## Output',
    });
    const file = await readDocument(m, ...sessionDocument('phase_2_market_research', 'market_research.md'));
    expect(file).toContain('- Error Type: TimeoutError');
    expect(file.match(/^## Output$/gm)).toHaveLength(1);
    const page = await callOk(client, 'get_agent_output', {
      ...REF,
      phase_num: 2,
      agent_name: 'market_research',
    });
    expect(page).toMatchObject({ status: 'failed', content: '', total_chars: 0 });
  });

  it('save_agent_output rejects reserved and path-like agent names and numeric strings in the schema', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const args = { ...REF, phase_num: 1, output_content: 'x' };
    for (const agent_name of ['checkpoint', 'History', 'user_feedback.md', '../x', 'a/b', '.hidden', ''])
      await expectToolError(client, 'save_agent_output', { ...args, agent_name }, 'INVALID_ARGUMENT');
    const tokens = await expectToolError(
      client,
      'save_agent_output',
      { ...args, agent_name: 'a', input_tokens: '10' },
      'INVALID_ARGUMENT',
    );
    expect(tokens).toContain('input_tokens');
    await expectToolError(
      client,
      'save_agent_output',
      { ...args, agent_name: 'a', duration: -1 },
      'INVALID_ARGUMENT',
    );
    await expectToolError(
      client,
      'save_agent_output',
      { ...args, agent_name: 'a', status: 'requires_retry' },
      'INVALID_ARGUMENT',
    );
  });

  it('save_agent_output rejects a multi-line model, a tool name with a comma and a lone surrogate', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const args = { ...REF, phase_num: 1, agent_name: 'a', output_content: 'x' };
    expect(
      await expectToolError(
        client,
        'save_agent_output',
        { ...args, model: 'gpt\nclaude' },
        'INVALID_ARGUMENT',
      ),
    ).toContain('model');
    await expectToolError(client, 'save_agent_output', { ...args, tools_used: ['a,b'] }, 'INVALID_ARGUMENT');
    await expectToolError(
      client,
      'save_agent_output',
      { ...args, error_message: 'a\r\nb' },
      'INVALID_ARGUMENT',
    );
    await expectToolError(
      client,
      'save_agent_output',
      { ...args, output_content: 'broken \uD800 pair' },
      'INVALID_ARGUMENT',
    );
  });

  it('save_agent_output for a missing session is NOT_FOUND', async () => {
    const { client } = await connectedClient();
    await expectToolError(
      client,
      'save_agent_output',
      { ...REF, phase_num: 1, agent_name: 'a', output_content: 'x' },
      'NOT_FOUND',
    );
  });

  it('save_agent_output for phase 5 of an mvp session is PHASE_NOT_IN_MODE', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(
      client,
      'save_agent_output',
      { ...REF, phase_num: 5, agent_name: 'a', output_content: 'x' },
      'PHASE_NOT_IN_MODE',
    );
  });

  it('save_agent_output with a name that differs only in letter case from a saved one is CONFLICT', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await saveOutput(client, 1, 'Writer', 'x');
    const text = await expectToolError(
      client,
      'save_agent_output',
      { ...REF, phase_num: 1, agent_name: 'writer', output_content: 'y' },
      'CONFLICT',
    );
    expect(text).toContain('Writer.md');
  });

  it('save_agent_output over the content limit is LIMIT_EXCEEDED and one byte under it is saved', async () => {
    const { client } = await connectedClient({ limits: { maxContentBytes: 1000 } });
    await createSession(client);
    const args = { ...REF, phase_num: 1, agent_name: 'a' };
    await callOk(client, 'save_agent_output', { ...args, output_content: `${'é'.repeat(499)}x` });
    const text = await expectToolError(
      client,
      'save_agent_output',
      { ...args, output_content: `${'é'.repeat(500)}x` },
      'LIMIT_EXCEEDED',
    );
    expect(text).toContain('1001 bytes');
    const page = await callOk<Page>(client, 'get_agent_output', { ...args });
    expect(page.content).toBe(`${'é'.repeat(499)}x`);
  });
});

describe('get_phase_outputs', () => {
  it('get_phase_outputs returns the completed phases with agents in name order, exactly as saved', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'zeta', 'last');
    await saveOutput(client, 1, 'alpha', TRICKY);
    await saveOutput(client, 2, 'market', 'not completed yet');
    await completePhase(client, 1, ['alpha', 'zeta']);
    await editDocument(m, sessionDocument('phase_1_concept', 'notes.md'), 'a stray note\n');
    await callOk(client, 'save_user_feedback', { ...REF, phase_num: 1, reviewed: true, approved: true });
    const outputs = await callOk(client, 'get_phase_outputs', REF);
    expect(outputs).toEqual({ outputs: { '1': { alpha: TRICKY, zeta: 'last' } }, truncated: [] });
    expect(Object.keys((outputs as { outputs: Record<string, object> }).outputs['1'] ?? {})).toEqual([
      'alpha',
      'zeta',
    ]);
    expect(await callOk(client, 'get_phase_outputs', { ...REF, phase_nums: [2, 3] })).toEqual({
      outputs: { '2': { market: 'not completed yet' }, '3': {} },
      truncated: [],
    });
  });

  it('get_phase_outputs cuts the largest outputs past the response budget and lists them in truncated', async () => {
    const { client } = await connectedClient({ limits: { maxResponseBytes: 1000 } });
    await createSession(client);
    const big = 'b'.repeat(3000);
    const bigger = 'c'.repeat(4000);
    await saveOutput(client, 1, 'big', big);
    await saveOutput(client, 1, 'bigger', bigger);
    await saveOutput(client, 1, 'small', 'tiny');
    const result = await callOk<{ outputs: Record<string, Record<string, string>>; truncated: unknown[] }>(
      client,
      'get_phase_outputs',
      { ...REF, phase_nums: [1] },
    );
    const phase = result.outputs['1'] ?? {};
    expect(phase.small).toBe('tiny');
    expect(big.startsWith(phase.big ?? 'x')).toBe(true);
    expect(bigger.startsWith(phase.bigger ?? 'x')).toBe(true);
    expect((phase.big ?? '').length + (phase.bigger ?? '').length + 4).toBeLessThanOrEqual(1000);
    expect(result.truncated).toEqual([
      { phase_num: 1, agent_name: 'big', total_chars: 3000 },
      { phase_num: 1, agent_name: 'bigger', total_chars: 4000 },
    ]);
  });

  it('get_phase_outputs rejects phase numbers out of range and strings in the schema', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(client, 'get_phase_outputs', { ...REF, phase_nums: [100] }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_phase_outputs', { ...REF, phase_nums: ['1'] }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_phase_outputs', { ...REF, phase_nums: 1 }, 'INVALID_ARGUMENT');
  });

  it('get_phase_outputs for a phase outside the mode is PHASE_NOT_IN_MODE and for a missing session NOT_FOUND', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(client, 'get_phase_outputs', { ...REF, phase_nums: [1, 4] }, 'PHASE_NOT_IN_MODE');
    expect(
      await expectToolError(client, 'get_phase_outputs', { ...REF, phase_nums: [8] }, 'PHASE_NOT_IN_MODE'),
    ).toBe(
      'PHASE_NOT_IN_MODE: phase_num 8 is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    );
    await expectToolError(client, 'get_phase_outputs', { ...REF, session_id: 'nope' }, 'NOT_FOUND');
  });

  it('get_phase_outputs reports a hand-corrupted agent output as CORRUPT_FILE naming the file', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'writer', 'x');
    await corrupt(
      m,
      sessionDocument('phase_1_concept', 'writer.md'),
      '# Agent Output: writer\n\nthe rest was lost\n',
    );
    const text = await expectToolError(
      client,
      'get_phase_outputs',
      { ...REF, phase_nums: [1] },
      'CORRUPT_FILE',
    );
    expect(text).toContain('phase_1_concept/writer.md');
  });
});

describe('get_agent_output', () => {
  it('get_agent_output pages join to the exact content without splitting a surrogate pair', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const content = `${'ab😀'.repeat(40)}\r\n## Output\n`;
    await saveOutput(client, 1, 'writer', content);
    const pages: Page[] = [];
    let offset: number | undefined = 0;
    while (offset !== undefined) {
      const page: Page = await callOk<Page>(client, 'get_agent_output', {
        ...REF,
        phase_num: 1,
        agent_name: 'writer',
        offset,
        max_chars: 7,
      });
      expect(page.offset).toBe(offset);
      expect(page.total_chars).toBe(content.length);
      pages.push(page);
      offset = page.next_offset;
    }
    expect(pages.length).toBeGreaterThan(20);
    expect(pages.map((page) => page.content).join('')).toBe(content);
    for (const page of pages) expect(page.content).not.toMatch(LONE_SURROGATE);
  });

  it('get_agent_output reads an earlier version from history', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await saveOutput(client, 1, 'writer', 'first');
    await saveOutput(client, 1, 'writer', 'second');
    const args = { ...REF, phase_num: 1, agent_name: 'writer' };
    expect(await callOk(client, 'get_agent_output', args)).toMatchObject({ content: 'second', version: 2 });
    expect(await callOk(client, 'get_agent_output', { ...args, version: 1 })).toMatchObject({
      content: 'first',
      version: 1,
    });
    expect(await expectToolError(client, 'get_agent_output', { ...args, version: 7 }, 'NOT_FOUND')).toContain(
      'list_history',
    );
  });

  it('get_agent_output of an agent with no output is NOT_FOUND and points to get_phase_outputs', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const text = await expectToolError(
      client,
      'get_agent_output',
      { ...REF, phase_num: 1, agent_name: 'ghost' },
      'NOT_FOUND',
    );
    expect(text).toContain('get_phase_outputs');
  });

  it('get_agent_output rejects an offset past the end, inside a pair, and bad numbers', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await saveOutput(client, 1, 'writer', 'a😀b');
    const args = { ...REF, phase_num: 1, agent_name: 'writer' };
    expect(
      await expectToolError(client, 'get_agent_output', { ...args, offset: 5 }, 'INVALID_ARGUMENT'),
    ).toContain('offset 5');
    await expectToolError(client, 'get_agent_output', { ...args, offset: 2 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_agent_output', { ...args, offset: -1 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_agent_output', { ...args, max_chars: 0 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_agent_output', { ...args, offset: '1' }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'get_agent_output', { ...args, agent_name: 'project' }, 'INVALID_ARGUMENT');
    expect(await callOk(client, 'get_agent_output', { ...args, offset: 4 })).toMatchObject({ content: '' });
  });

  it('get_agent_output for a phase outside the mode is PHASE_NOT_IN_MODE', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(
      client,
      'get_agent_output',
      { ...REF, phase_num: 4, agent_name: 'writer' },
      'PHASE_NOT_IN_MODE',
    );
  });

  it('get_agent_output reports a hand-corrupted output as CORRUPT_FILE', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'writer', 'x');
    await corrupt(m, sessionDocument('phase_1_concept', 'writer.md'));
    const text = await expectToolError(
      client,
      'get_agent_output',
      { ...REF, phase_num: 1, agent_name: 'writer' },
      'CORRUPT_FILE',
    );
    expect(text).toContain('phase_1_concept/writer.md');
  });
});
