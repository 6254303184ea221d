import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Client } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { type AgentOutputRecord, parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { parseProject } from '../../src/checkpoint/formats/project.js';
import { parseUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import {
  callOk,
  connectV2Client,
  type HttpServer,
  startHttpServer,
  tempDir,
} from '../helpers/http-server.js';

const CLIENTS = 64;
const CALLS = 50;
const SESSIONS = 4;
const PROJECT = 'load';

interface Save {
  agent: string;
  session: string;
  content: string;
  /** The file the server acknowledged, relative to the base directory. */
  file?: string;
}

interface Outcome {
  acknowledged: Save[];
  /** Saves that got no success answer, with when they ended relative to the SIGTERM. */
  unacknowledged: Array<Save & { error: string; afterSigterm: boolean }>;
  /** Every call that got no success answer, whatever the tool. */
  failures: Array<{ tool: string; error: string; afterSigterm: boolean }>;
  /** Calls of any tool answered with success before the SIGTERM, and after. */
  answeredBefore: number;
  answeredAfter: number;
}

/** A different text per call: markdown structure, CRLF, quotes, emoji, and a length from 200 B to 4 KB. */
function contentOf(agent: string, n: number): string {
  const lines = [
    `# ${agent}`,
    '',
    '## Output',
    `| call | ${n} |`,
    '|---|---|',
    '```js',
    `const x = "${agent}"; // 😀 "quoted" \\ back`,
    '```',
    'trailing spaces   ',
    'crlf line\r',
  ];
  const filler = `${agent}:${n} é😀 `.repeat(4 + ((n * 7919) % 150));
  return `${lines.join('\n')}\n${filler}\n`;
}

function sessionOf(k: number): string {
  return `s${k % SESSIONS}`;
}

async function startLoadServer(): Promise<{ base: string; server: HttpServer }> {
  const base = await tempDir();
  const server = await startHttpServer(['--base-dir', base]);
  const setup = await connectV2Client(server.url, 'v2 pinned to 2026-07-28');
  for (let s = 0; s < SESSIONS; s++) {
    await callOk(setup, 'create_session', { project_id: PROJECT, session_id: `s${s}`, user_id: 'u1' });
  }
  return { base, server };
}

/** 64 clients, half pinned to 2026-07-28 and half 2025-era, all connected before any of them calls. */
async function connectAll(url: string): Promise<Client[]> {
  return Promise.all(
    Array.from({ length: CLIENTS }, (_, k) =>
      connectV2Client(url, k % 2 === 0 ? 'v2 pinned to 2026-07-28' : 'v2 in 2025 mode'),
    ),
  );
}

/**
 * Each client calls in turn: mostly save_agent_output under a name no other call uses, every tenth call
 * load_session and two calls in fifty save_checkpoint. It stops after `calls` calls, when `stopped()`
 * says so before a call, or at its first failure.
 */
async function drive(
  clients: Client[],
  options: { calls: number; stopped: () => boolean; sigtermSent: () => boolean },
): Promise<Outcome> {
  const outcome: Outcome = {
    acknowledged: [],
    unacknowledged: [],
    failures: [],
    answeredBefore: 0,
    answeredAfter: 0,
  };
  await Promise.all(
    clients.map(async (client, k) => {
      const session = sessionOf(k);
      const ref = { project_id: PROJECT, session_id: session };
      for (let i = 0; i < options.calls && !options.stopped(); i++) {
        const agent = `c${k}_${i}`;
        const save: Save = { agent, session, content: contentOf(agent, k * CALLS + i) };
        const [tool, args] =
          i % 10 === 9
            ? (['load_session', ref] as const)
            : i % 25 === 12
              ? ([
                  'save_checkpoint',
                  {
                    ...ref,
                    phase_num: 1,
                    status: 'in_progress',
                    agents: [{ agent_name: `c${k}_${i - 1}`, status: 'completed', tokens: i }],
                  },
                ] as const)
              : ([
                  'save_agent_output',
                  { ...ref, phase_num: 1, agent_name: agent, output_content: save.content },
                ] as const);
        try {
          const result = await callOk<{ file?: string; project_id?: string; phase_num?: number }>(
            client,
            tool,
            args,
          );
          if (options.sigtermSent()) outcome.answeredAfter++;
          else outcome.answeredBefore++;
          if (tool === 'save_agent_output') outcome.acknowledged.push({ ...save, file: result.file });
          if (tool === 'load_session') expect(result).toMatchObject(ref);
          if (tool === 'save_checkpoint')
            expect(result).toMatchObject({ phase_num: 1, status: 'in_progress' });
        } catch (error) {
          const failure = { tool, error: String(error), afterSigterm: options.sigtermSent() };
          outcome.failures.push(failure);
          if (tool === 'save_agent_output') outcome.unacknowledged.push({ ...save, ...failure });
          return;
        }
      }
    }),
  );
  return outcome;
}

/**
 * Every file below `base`, parsed as what its name says it is: the agent outputs by path, and the names
 * that are no document (a temporary file or a lock left behind).
 */
async function parseEveryFile(
  base: string,
): Promise<{ outputs: Map<string, AgentOutputRecord>; strays: string[] }> {
  const outputs = new Map<string, AgentOutputRecord>();
  const strays: string[] = [];
  const visit = async (dir: string): Promise<void> => {
    for (const entry of await readdir(join(base, dir), { withFileTypes: true })) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        await visit(path);
        continue;
      }
      // history/checkpoint.v3.md is a checkpoint too.
      const kind = /^(.+?)(\.v\d+)?\.md$/.exec(entry.name)?.[1];
      if (kind === undefined) {
        strays.push(path);
        continue;
      }
      const text = await readFile(join(base, path), 'utf8');
      if (kind === 'project') parseProject(text, path);
      else if (kind === 'session_manifest') parseManifest(text, path);
      else if (kind === 'checkpoint') parseCheckpoint(text, path);
      else if (kind === 'user_feedback') parseUserFeedback(text, path);
      else outputs.set(path, parseAgentOutput(text, path));
    }
  };
  await visit('');
  return { outputs, strays };
}

function outputPath(save: Save): string {
  return `${PROJECT}/sessions/${save.session}/phase_1_concept/${save.agent}.md`;
}

/** What differs between the saves and the parsed outputs: a missing file, other content, another name. */
function mismatches(outputs: Map<string, AgentOutputRecord>, saves: Save[]): string[] {
  const wrong: string[] = [];
  for (const save of saves) {
    const path = outputPath(save);
    if (save.file !== undefined && save.file !== path)
      wrong.push(`${save.agent}: acknowledged as ${save.file}`);
    const record = outputs.get(path);
    if (record === undefined) wrong.push(`${path}: not on disk`);
    else if (record.content !== save.content) wrong.push(`${path}: the content differs from what was sent`);
    else if (record.sha256 !== createHash('sha256').update(save.content, 'utf8').digest('hex'))
      wrong.push(`${path}: wrong Content SHA-256`);
  }
  return wrong;
}

describe('many clients at once over HTTP', () => {
  it('64 clients, half 2026-07-28 and half 2025-era, making 50 calls each get no error, and every save is on disk exactly as sent', async () => {
    const { base, server } = await startLoadServer();
    const clients = await connectAll(server.url);
    const outcome = await drive(clients, { calls: CALLS, stopped: () => false, sigtermSent: () => false });
    expect(outcome.failures).toEqual([]);
    // 50 calls: 5 load_session, 2 save_checkpoint, 43 save_agent_output.
    expect(outcome.acknowledged).toHaveLength(CLIENTS * 43);
    const { outputs, strays } = await parseEveryFile(base);
    expect(strays).toEqual([]);
    expect(mismatches(outputs, outcome.acknowledged)).toEqual([]);
    expect([...outputs.keys()].sort()).toEqual(outcome.acknowledged.map(outputPath).sort());
    expect(server.stderr()).not.toMatch(/checkpoint-mcp (warning|error)/);
  }, 90_000);

  it('SIGTERM in the middle of the load: exit 0, every acknowledged save is on disk byte for byte, and every file parses', async () => {
    const { base, server } = await startLoadServer();
    const clients = await connectAll(server.url);
    let sigtermAt: number | undefined;
    const run = drive(clients, {
      calls: Number.POSITIVE_INFINITY,
      // A server that never stops answering would keep the clients going: give up 15 s after the signal.
      stopped: () => sigtermAt !== undefined && Date.now() - sigtermAt > 15_000,
      sigtermSent: () => sigtermAt !== undefined,
    });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    sigtermAt = Date.now();
    // Killed with SIGKILL, and so failing here, if it has not exited 20 s after the SIGTERM.
    const exit = server.stop('SIGTERM', 20_000);
    const outcome = await run;
    expect(await exit).toEqual({ code: 0, signal: null });

    expect(outcome.failures.filter((failure) => !failure.afterSigterm)).toEqual([]);
    // What failed, failed for want of a server: no tool error, no wrong answer, only a connection refused
    // or cut, or a request that came on a kept-alive connection after the signal and was turned away (503).
    const connectionLost =
      /fetch failed|ECONNREFUSED|ECONNRESET|other side closed|connection closed|the server is busy \(the server is shutting down\)/i;
    expect(outcome.failures.filter((failure) => !connectionLost.test(failure.error))).toEqual([]);
    // Every client ends on a failed call once the server has gone.
    expect(outcome.failures).toHaveLength(CLIENTS);
    // Calls were answered before the signal, and the requests under way when it came were finished and answered.
    expect(outcome.answeredBefore).toBeGreaterThan(0);
    expect(outcome.answeredAfter).toBeGreaterThan(0);
    const { outputs, strays } = await parseEveryFile(base);
    expect(strays).toEqual([]);
    expect(mismatches(outputs, outcome.acknowledged)).toEqual([]);
    // A save that got no answer may or may not have happened, but never by half.
    const happened = outcome.unacknowledged.filter((save) => outputs.has(outputPath(save)));
    expect(mismatches(outputs, happened)).toEqual([]);
    expect(outputs.size).toBe(outcome.acknowledged.length + happened.length);
  }, 60_000);
});
