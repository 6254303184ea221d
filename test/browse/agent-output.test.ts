import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { createSession, REF } from '../helpers/seed.js';

interface OutputPage {
  agent_name: string;
  phase_num: number;
  status: string;
  model?: string;
  executed: string;
  content: string;
  offset: number;
  total_chars: number;
  next_offset?: number;
  version: number;
}

const AGENT = { ...REF, phase_num: 1, agent_name: 'writer' };

const page = (client: Client, args: Record<string, unknown> = {}) =>
  callOk<OutputPage>(client, 'get_agent_output', { ...AGENT, ...args });

/** Every page from offset 0, following next_offset. */
async function allPages(client: Client, args: Record<string, unknown>): Promise<OutputPage[]> {
  const pages: OutputPage[] = [];
  let offset: number | undefined = 0;
  while (offset !== undefined) {
    const next: OutputPage = await page(client, { ...args, offset });
    expect(next.offset).toBe(offset);
    pages.push(next);
    offset = next.next_offset;
    expect(pages.length).toBeLessThan(10_000);
  }
  return pages;
}

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff;
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff;

describe('get_agent_output and list_history', () => {
  it('an output overwritten three times keeps versions 1 to 3 readable, listed by list_history with saved_at', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const contents = ['first draft', 'second draft', 'third draft', 'final text'];
    for (const [n, output_content] of contents.entries()) {
      await callOk(client, 'save_agent_output', { ...AGENT, output_content, model: `model-${n + 1}` });
    }
    const { versions } = await callOk<{
      versions: Array<{ file: string; version: number; saved_at: string }>;
    }>(client, 'list_history', { ...REF, phase_num: 1 });
    expect(versions).toEqual(
      [1, 2, 3].map((version) => ({
        file: 'writer.md',
        version,
        saved_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        path: `p1/sessions/s1/phase_1_concept/history/writer.v${version}.md`,
      })),
    );
    const savedAt = versions.map((entry) => Date.parse(entry.saved_at));
    expect(savedAt).toEqual([...savedAt].sort((a, b) => a - b));
    for (const entry of versions) {
      const old = await page(client, { version: entry.version });
      expect(old).toMatchObject({
        content: contents[entry.version - 1],
        model: `model-${entry.version}`,
        version: entry.version,
        total_chars: contents[entry.version - 1]?.length,
      });
      // saved_at is when that version was written, not when it was moved to history/.
      expect(Math.abs(Date.parse(entry.saved_at) - Date.parse(old.executed))).toBeLessThan(5_000);
    }
    const current = await page(client);
    expect(current).toMatchObject({ content: 'final text', version: 4, model: 'model-4' });
    expect(await page(client, { version: 4 })).toEqual(current);
  });

  it('get_agent_output of a version that was never kept is NOT_FOUND pointing to list_history', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: 'one' });
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: 'two' });
    expect((await page(client, { version: 1 })).content).toBe('one');
    expect(
      await expectToolError(client, 'get_agent_output', { ...AGENT, version: 3 }, 'NOT_FOUND'),
    ).toContain('list_history');
    await expectToolError(client, 'get_agent_output', { ...AGENT, version: 99 }, 'NOT_FOUND');
    await expectToolError(client, 'get_agent_output', { ...AGENT, version: 0 }, 'INVALID_ARGUMENT');
    await expectToolError(
      client,
      'get_agent_output',
      { ...AGENT, agent_name: 'nobody', version: 1 },
      'NOT_FOUND',
    );
  });

  it('pages of a small max_chars join to the exact content and never split a surrogate pair', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    // Pairs at even and odd offsets, so every max_chars puts some page boundary inside one.
    const content = 'a😀bc😀😀d\r\n𝄞e"\\\u0007 ü 😀'.repeat(7);
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: content });
    for (const max_chars of [1, 2, 3, 4, 5, 8, 13]) {
      const pages = await allPages(client, { max_chars });
      expect(pages.map((p) => p.content).join('')).toBe(content);
      for (const [n, p] of pages.entries()) {
        expect(p.total_chars).toBe(content.length);
        expect(p.content.length).toBeGreaterThan(0);
        // Never more than max_chars, except one whole pair when max_chars is 1.
        expect(p.content.length).toBeLessThanOrEqual(Math.max(max_chars, 2));
        expect(isLow(p.content.charCodeAt(0))).toBe(false);
        expect(isHigh(p.content.charCodeAt(p.content.length - 1))).toBe(false);
        if (n < pages.length - 1 && max_chars > 1) {
          // A page is only ever shortened to keep a pair whole.
          const full = p.content.length === max_chars;
          const keptPair =
            p.content.length === max_chars - 1 && isHigh(content.charCodeAt(p.offset + max_chars - 1));
          expect(full || keptPair).toBe(true);
        }
      }
      expect(pages.at(-1)?.next_offset).toBeUndefined();
    }
    const inside = content.indexOf('😀') + 1;
    expect(
      await expectToolError(client, 'get_agent_output', { ...AGENT, offset: inside }, 'INVALID_ARGUMENT'),
    ).toContain('surrogate pair');
  });

  it('pages of an earlier version join to that version exactly', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const first = `first ${'🙂x'.repeat(40)}`;
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: first });
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: 'replaced' });
    const pages = await allPages(client, { version: 1, max_chars: 7 });
    expect(pages.every((p) => p.version === 1)).toBe(true);
    expect(pages.map((p) => p.content).join('')).toBe(first);
  });

  it('without max_chars a page fits the response budget, and the pages still join exactly', async () => {
    const { client } = await connectedClient({ limits: { maxResponseBytes: 1000 } });
    await createSession(client);
    const content = 'ab"\\\n😀ü€'.repeat(400);
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: content });
    const pages = await allPages(client, {});
    expect(pages.length).toBeGreaterThan(5);
    for (const p of pages)
      expect(Buffer.byteLength(JSON.stringify(p.content), 'utf8')).toBeLessThanOrEqual(1002);
    expect(pages.map((p) => p.content).join('')).toBe(content);
    const asked = await page(client, { max_chars: 100_000 });
    expect(asked.content).toBe(pages[0]?.content);
  });

  it('an offset at the end is an empty last page and one past it is INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await callOk(client, 'save_agent_output', { ...AGENT, output_content: 'twelve chars' });
    const end = await page(client, { offset: 12 });
    expect(end).toMatchObject({ content: '', offset: 12, total_chars: 12 });
    expect(end.next_offset).toBeUndefined();
    const text = await expectToolError(
      client,
      'get_agent_output',
      { ...AGENT, offset: 13 },
      'INVALID_ARGUMENT',
    );
    expect(text).toContain('offset 13');
    // With no history the current output is version 1; version 2 does not exist whatever the offset.
    expect((await page(client, { version: 1 })).content).toBe('twelve chars');
    await expectToolError(
      client,
      'get_agent_output',
      { ...AGENT, offset: 1_000_000, version: 2 },
      'NOT_FOUND',
    );
  });
});
