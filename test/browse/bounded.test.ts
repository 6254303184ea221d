import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/checkpoint/model/limits.js';
import { callOk, connectedClient } from '../helpers/client.js';
import { readDocument } from '../helpers/engine.js';
import { completePhase, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

const MiB = 1024 * 1024;
const LONG = 120_000;

interface Output {
  phase_num: number;
  agent_name: string;
  content: string;
}

interface ReadCall {
  project_id: string;
  session_id: string;
  phase_num: number;
  agent_name: string;
  offset: number;
}

interface Page {
  content: string;
  offset: number;
  total_chars: number;
  next_offset?: number;
}

/** How a prompt carried one output. */
type Carried =
  | { how: 'whole' }
  | { how: 'cut'; call: ReadCall; inlined: string }
  | { how: 'left out'; call: ReadCall };

/** Text of about `bytes` UTF-8 bytes, different for every `seed`, with 2-, 3- and 4-byte characters. */
function outputText(seed: string, bytes: number): string {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const line = `${seed} line ${i}: é ü 中文 😀 "quoted" \\ ${(i * 7919).toString(36)}`;
    lines.push(line);
    size += Buffer.byteLength(line, 'utf8') + 1;
  }
  return lines.join('\n');
}

/** Phases 1, 2 and 3 done, each with three outputs of 200 KB: phase 6 is next. */
async function bigSession(client: Client): Promise<Output[]> {
  await createSession(client);
  const outputs: Output[] = [];
  for (const phase_num of [1, 2, 3]) {
    const names = ['analyst', 'critic', 'writer'].map((role) => `${role}_${phase_num}`);
    for (const agent_name of names) {
      const content = outputText(`${agent_name}/${phase_num}`, 200_000);
      await saveOutput(client, phase_num, agent_name, content);
      outputs.push({ phase_num, agent_name, content });
    }
    await completePhase(client, phase_num, names);
  }
  return outputs;
}

async function promptText(client: Client, name: string, args: Record<string, string>): Promise<string> {
  const result = await client.getPrompt({ name, arguments: args });
  const message = result.messages[0];
  if (result.messages.length !== 1 || message?.content.type !== 'text') throw new Error(`${name}: no text`);
  return message.content.text;
}

/** The JSON-encoded UTF-8 size of a prompt text, as it travels (quotes included). */
function encodedBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text), 'utf8');
}

const SECTION_ENDS = ['\n\n--- Phase ', '\n\nNot included here', '\n\nSave with ', '\n\nAnswer with one of'];

/** The text from `start` to the next section of the prompt. */
function sectionFrom(text: string, start: number): string {
  const ends = SECTION_ENDS.map((marker) => text.indexOf(marker, start)).filter((index) => index !== -1);
  return text.slice(start, Math.min(...ends, text.length));
}

/** How `prompt` carried `output`; fails the test when it is neither inlined, cut with a call, nor listed. */
function carriedIn(prompt: string, output: Output): Carried {
  const { phase_num, agent_name, content } = output;
  const whole = `\n--- Phase ${phase_num} output of ${agent_name} ---\n`;
  const wholeAt = prompt.indexOf(whole);
  if (wholeAt !== -1) {
    expect(sectionFrom(prompt, wholeAt + whole.length) === content, `${agent_name} inlined whole`).toBe(true);
    return { how: 'whole' };
  }
  const cut = new RegExp(
    `\\n--- Phase ${phase_num} output of ${agent_name}: the first (\\d+) of (\\d+) characters; read on with get_agent_output (\\{[^\\n]*\\}) ---\\n`,
  ).exec(prompt);
  if (cut) {
    const [heading, first, total, json] = cut;
    const call = JSON.parse(json ?? '') as ReadCall;
    expect(call, agent_name).toEqual({ ...REF, phase_num, agent_name, offset: Number(first) });
    expect(Number(total), agent_name).toBe(content.length);
    const inlined = sectionFrom(prompt, cut.index + heading.length);
    expect(inlined.length, agent_name).toBe(call.offset);
    expect(inlined === content.slice(0, call.offset), `${agent_name}: what is inlined is the start`).toBe(
      true,
    );
    expect(call.offset, agent_name).toBeLessThan(content.length);
    // A cut never splits the two halves of a character outside the Basic Multilingual Plane.
    expect(inlined.charCodeAt(inlined.length - 1) & 0xfc00, agent_name).not.toBe(0xd800);
    return { how: 'cut', call, inlined };
  }
  const listed = new RegExp(
    `\\n- Phase ${phase_num}, ${agent_name} \\((\\d+) characters\\): get_agent_output (\\{[^\\n]*\\})(?:\\n|$)`,
  ).exec(prompt);
  if (listed) {
    const [, total, json] = listed;
    expect(Number(total), agent_name).toBe(content.length);
    const call = JSON.parse(json ?? '') as ReadCall;
    expect(call, agent_name).toEqual({ ...REF, phase_num, agent_name, offset: 0 });
    return { how: 'left out', call };
  }
  throw new Error(`phase ${phase_num} output of ${agent_name} is neither inlined, cut nor listed`);
}

/** Follows a named get_agent_output call page by page to the end. */
async function readOn(client: Client, call: ReadCall): Promise<string> {
  const parts: string[] = [];
  let offset: number | undefined = call.offset;
  while (offset !== undefined) {
    const page: Page = await callOk<Page>(client, 'get_agent_output', { ...call, offset });
    expect(page.offset).toBe(offset);
    parts.push(page.content);
    offset = page.next_offset;
  }
  return parts.join('');
}

/**
 * Checks that `prompt` is within `maxBytes` and carries each of `outputs` whole, cut with the call
 * that reads on, or left out with the call that reads it; follows every call to the exact content.
 */
async function checkPrompt(
  client: Client,
  prompt: string,
  outputs: readonly Output[],
  maxBytes: number,
): Promise<Record<Carried['how'], number>> {
  expect(encodedBytes(prompt)).toBeLessThanOrEqual(maxBytes);
  expect(Buffer.byteLength(prompt, 'utf8')).toBeLessThanOrEqual(maxBytes);
  expect(prompt).not.toMatch(/- and \d+ more:/);
  const counts = { whole: 0, cut: 0, 'left out': 0 };
  for (const output of outputs) {
    const carried = carriedIn(prompt, output);
    counts[carried.how]++;
    if (carried.how === 'cut') {
      const rest = await readOn(client, carried.call);
      expect(carried.inlined + rest === output.content, `${output.agent_name} reassembled`).toBe(true);
    }
    if (carried.how === 'left out') {
      expect((await readOn(client, carried.call)) === output.content, output.agent_name).toBe(true);
    }
  }
  return counts;
}

const sizes: string[] = [];

describe('prompts within --max-prompt-bytes', () => {
  it(
    'the resume_session prompt of 9 outputs of 200 KB is at most 100 KiB and names a call for every cut',
    async () => {
      const { client } = await connectedClient();
      const outputs = await bigSession(client);
      const prompt = await promptText(client, 'resume_session', REF);
      expect(DEFAULT_LIMITS.maxPromptBytes).toBe(102_400);
      expect(prompt).toContain('Next: phase 6 (Validation), reason: next_phase.');
      const counts = await checkPrompt(client, prompt, outputs, 102_400);
      expect(counts).toEqual({ whole: 0, cut: 9, 'left out': 0 });
      sizes.push(`resume_session, default limit: ${encodedBytes(prompt)} bytes JSON-encoded`);
      console.log(sizes.at(-1));
    },
    LONG,
  );

  it(
    'the review_phase prompt of a phase with 3 outputs of 200 KB is at most 100 KiB and names a call for every cut',
    async () => {
      const { client } = await connectedClient();
      const outputs = await bigSession(client);
      const prompt = await promptText(client, 'review_phase', { ...REF, phase_num: '2' });
      expect(prompt).toContain('Please review phase 2 (Market Research)');
      const phaseTwo = outputs.filter((output) => output.phase_num === 2);
      const counts = await checkPrompt(client, prompt, phaseTwo, 102_400);
      expect(counts).toEqual({ whole: 0, cut: 3, 'left out': 0 });
      for (const other of outputs.filter((output) => output.phase_num !== 2))
        expect(prompt).not.toContain(other.agent_name);
      sizes.push(`review_phase, default limit: ${encodedBytes(prompt)} bytes JSON-encoded`);
      console.log(sizes.at(-1));
    },
    LONG,
  );

  it.each([
    { maxPromptBytes: 20_000, expected: { whole: 0, cut: 8, 'left out': 1 } },
    { maxPromptBytes: 50_000, expected: { whole: 0, cut: 9, 'left out': 0 } },
    { maxPromptBytes: 400_000, expected: { whole: 0, cut: 9, 'left out': 0 } },
    { maxPromptBytes: 3 * MiB, expected: { whole: 9, cut: 0, 'left out': 0 } },
  ])(
    'with maxPromptBytes $maxPromptBytes the resume_session prompt follows the bound',
    async ({ maxPromptBytes, expected }) => {
      const { client } = await connectedClient({ limits: { maxPromptBytes } });
      const outputs = await bigSession(client);
      const prompt = await promptText(client, 'resume_session', REF);
      const counts = await checkPrompt(client, prompt, outputs, maxPromptBytes);
      expect(counts).toEqual(expected);
      // The room is used: a prompt that cuts yet stays far under its bound would cut more than it must.
      if (expected.cut > 0) expect(encodedBytes(prompt)).toBeGreaterThan(maxPromptBytes * 0.9);
      const review = await promptText(client, 'review_phase', { ...REF, phase_num: '1' });
      await checkPrompt(
        client,
        review,
        outputs.filter((output) => output.phase_num === 1),
        maxPromptBytes,
      );
      sizes.push(
        `maxPromptBytes ${maxPromptBytes}: resume_session ${encodedBytes(prompt)} bytes, review_phase ${encodedBytes(review)} bytes`,
      );
      console.log(sizes.at(-1));
    },
    LONG,
  );
});

describe('resource reads within --max-response-bytes', () => {
  it(
    'a 4 MiB agent output read as a resource ends with the cut line naming get_agent_output at the right offset',
    async () => {
      const m = await connectedClient();
      const { client } = m;
      await createSession(client);
      const content = outputText('big', 4 * MiB - 100);
      expect(Buffer.byteLength(content, 'utf8')).toBeLessThanOrEqual(4 * MiB);
      await saveOutput(client, 1, 'big', content);
      const file = await readDocument(m, ...sessionDocument('phase_1_concept', 'big.md'));
      const head = file.slice(0, file.length - content.length);
      expect(head + content).toBe(file);

      const uri = 'checkpoint://p1/sessions/s1/phase_1_concept/big.md';
      const [read] = (await client.readResource({ uri })).contents;
      const text = read && 'text' in read ? read.text : '';
      expect(read?._meta).toEqual({ truncated: true, total_chars: file.length });
      expect(encodedBytes(text)).toBeLessThanOrEqual(DEFAULT_LIMITS.maxResponseBytes);

      const note =
        /\n\n\[Cut to fit the response: (\d+) of (\d+) characters\. Read on with get_agent_output (\{[^\n]*\})\]$/.exec(
          text,
        );
      expect(note, text.slice(-300)).not.toBeNull();
      const [line = '', shown = '', total = '', json = '{}'] = note ?? [];
      expect(Number(total)).toBe(file.length);
      const kept = text.slice(0, text.length - line.length);
      expect(kept.length).toBe(Number(shown));
      expect(kept === file.slice(0, kept.length)).toBe(true);
      const call = JSON.parse(json) as ReadCall;
      expect(call).toEqual({ ...REF, phase_num: 1, agent_name: 'big', offset: kept.length - head.length });
      expect(call.offset).toBeGreaterThan(500_000);

      const rest = await readOn(client, call);
      expect(kept.slice(head.length) + rest === content).toBe(true);
      console.log(
        `resource read of a ${Buffer.byteLength(content, 'utf8')}-byte output: ${encodedBytes(text)} bytes, cut at offset ${call.offset}`,
      );
    },
    LONG,
  );
});
