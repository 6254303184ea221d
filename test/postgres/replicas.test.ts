import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { parseProject } from '../../src/checkpoint/formats/project.js';
import { parseUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import { connectClient, type HttpServer, type McpClient, startHttpServer } from '../helpers/http-server.js';
import { startCluster, type TestCluster } from '../helpers/postgres.js';
import { inParallel, migratedDatabase, PG_UNAVAILABLE, sleep, withDatabase } from './pg-harness.js';

/** How long the writers write in each scenario: long enough for a kill and a restart mid-run. */
const RUN_MS = 20_000;
const WRITERS = 8;
const REPLICAS = 3;
/** A writer saves a checkpoint every CHECKPOINT_EVERY calls and a review every FEEDBACK_EVERY. */
const CHECKPOINT_EVERY = 6;
const FEEDBACK_EVERY = 15;
/** One scenario at most: the run, a call retried until the give-up time, and the checks (slow under load). */
const SCENARIO_TIMEOUT_MS = 150_000;
/** A call that cannot be acknowledged within this long after the run ends fails the test. */
const RETRY_GIVE_UP_MS = 30_000;
const PHASES = [1, 2, 3, 6, 7];
const PROJECT = 'replicated';

type Tool = 'save_agent_output' | 'save_checkpoint' | 'save_user_feedback';

interface Ack {
  writer: number;
  tool: Tool;
  replica: number;
  phase: number;
  agent?: string;
  content?: string;
  revision?: number;
  startedAt: number;
}

/** One attempt that failed: a tool error (its text) or a transport error (the replica went away). */
interface Failure {
  writer: number;
  tool: Tool;
  replica: number;
  kind: 'tool' | 'transport';
  text: string;
  startedAt: number;
  endedAt: number;
}

interface Attempt {
  writer: number;
  startedAt: number;
  ok: boolean;
}

/** The three replicas, by index; a killed one is started again on the same port. */
class Replicas {
  readonly servers: HttpServer[] = [];
  readonly ports: number[] = [];
  /** How many times each replica was started: a client of an earlier start is thrown away. */
  readonly generation: number[] = [];
  /** A replica that exited without being killed: what it wrote on stderr. */
  crashed: string | undefined;
  private readonly killing = new Set<HttpServer>();

  constructor(private readonly storeUrl: string) {}

  async start(): Promise<void> {
    await Promise.all(Array.from({ length: REPLICAS }, (_, i) => this.launch(i, 0)));
  }

  async kill(index: number): Promise<void> {
    const server = this.servers[index] as HttpServer;
    this.killing.add(server);
    server.child.kill('SIGKILL');
    await server.exited;
  }

  async restart(index: number): Promise<void> {
    await this.launch(index, this.ports[index] as number);
  }

  url(index: number): string {
    return (this.servers[index] as HttpServer).url;
  }

  stderr(): string {
    return this.servers.map((server, i) => `--- replica ${i}\n${server.stderr()}`).join('\n');
  }

  private async launch(index: number, port: number): Promise<void> {
    const server = await startHttpServer(['--store', this.storeUrl, '--port', String(port)]);
    void server.exited.then((exit) => {
      if (!this.killing.has(server) && this.servers.includes(server))
        this.crashed ??= `replica ${index} exited (${JSON.stringify(exit)}) on its own; stderr:\n${server.stderr()}`;
    });
    this.servers[index] = server;
    this.ports[index] = Number(new URL(server.url).port);
    this.generation[index] = (this.generation[index] ?? 0) + 1;
  }
}

interface ToolResult {
  isError?: boolean;
  content?: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, unknown>;
}

/** One writer's clients, one per replica, made on first use and made again after a transport error. */
class WriterClients {
  private readonly clients: Array<{ client: McpClient; generation: number } | undefined> = [];

  constructor(private readonly replicas: Replicas) {}

  async call(replica: number, tool: string, args: Record<string, unknown>): Promise<ToolResult> {
    const generation = this.replicas.generation[replica] as number;
    let held = this.clients[replica];
    if (held === undefined || held.generation !== generation) {
      void held?.client.close().catch(() => undefined);
      held = {
        client: await connectClient(this.replicas.url(replica), 'v2 pinned to 2026-07-28'),
        generation,
      };
      this.clients[replica] = held;
    }
    try {
      return (await held.client.callTool({ name: tool, arguments: args })) as ToolResult;
    } catch (error) {
      this.clients[replica] = undefined;
      void held.client.close().catch(() => undefined);
      throw error;
    }
  }
}

interface RunLog {
  acks: Ack[];
  failures: Failure[];
  attempts: Attempt[];
  /** A kill or restart that went wrong. */
  faultErrors: string[];
}

/** What a writer saves as its n-th output: its name, a counter, and a few KB that a torn write would cut. */
function outputContent(writer: number, n: number): string {
  const line = `writer ${writer} output ${n}: '; DROP TABLE x; -- $1 \\ % _ ünï 😀\n`;
  return `# Output ${writer}.${n}\n\n${line.repeat(20 + (n % 7) * 15)}## Output\ntrailing  \r\n`;
}

/**
 * Eight writers on one session for RUN_MS, spread over the replicas. A failed attempt is retried on the
 * next replica until acknowledged; only acknowledged calls are counted.
 */
async function runWriters(
  replicas: Replicas,
  session: { project_id: string; session_id: string },
  fault: (elapsed: number) => Promise<void> | undefined = () => undefined,
): Promise<RunLog> {
  const log: RunLog = { acks: [], failures: [], attempts: [], faultErrors: [] };
  const start = Date.now();
  const deadline = start + RUN_MS;
  // A fault under way is awaited before the run returns, even when a writer failed.
  const pending: Array<Promise<void>> = [];
  const faults = setInterval(() => {
    const started = fault(Date.now() - start);
    if (started) pending.push(started.catch((error: unknown) => void log.faultErrors.push(String(error))));
  }, 50);
  const writer = async (w: number) => {
    const clients = new WriterClients(replicas);
    const home = w % REPLICAS;
    const phase = PHASES[w % PHASES.length] as number;
    const saved: string[] = [];
    for (let n = 1; Date.now() < deadline; n++) {
      let tool: Tool = 'save_agent_output';
      let args: Record<string, unknown>;
      const agent = `w${w}_${n}`;
      const content = outputContent(w, n);
      if (n % CHECKPOINT_EVERY === 0 && saved.length > 0) {
        tool = 'save_checkpoint';
        args = {
          ...session,
          phase_num: phase,
          status: 'in_progress',
          agents: saved
            .slice(-3)
            .map((name) => ({ agent_name: name, status: 'completed', tokens: 10, cost: 0.001 })),
        };
      } else if (n % FEEDBACK_EVERY === 0) {
        tool = 'save_user_feedback';
        args = {
          ...session,
          phase_num: phase,
          reviewed: true,
          approved: true,
          comments: `writer ${w} call ${n}`,
        };
      } else {
        args = {
          ...session,
          phase_num: phase,
          agent_name: agent,
          output_content: content,
          model: `model-${w}`,
        };
      }
      const startedCall = Date.now();
      for (let attempt = 0; ; attempt++) {
        if (replicas.crashed !== undefined) throw new Error(replicas.crashed);
        if (Date.now() > deadline + RETRY_GIVE_UP_MS)
          throw new Error(
            `writer ${w}: ${tool} was never acknowledged; last failures: ${JSON.stringify(log.failures.slice(-5))}`,
          );
        // The home replica first, then the next ones: a writer whose replica died goes on elsewhere.
        const replica = (home + attempt) % REPLICAS;
        const startedAt = Date.now();
        try {
          const result = await clients.call(replica, tool, args);
          log.attempts.push({ writer: w, startedAt, ok: !result.isError });
          if (!result.isError) {
            const revision = result.structuredContent?.revision;
            log.acks.push({
              writer: w,
              tool,
              replica,
              phase,
              startedAt: startedCall,
              ...(tool === 'save_agent_output' ? { agent, content } : {}),
              ...(typeof revision === 'number' ? { revision } : {}),
            });
            if (tool === 'save_agent_output') saved.push(agent);
            break;
          }
          log.failures.push({
            writer: w,
            tool,
            replica,
            kind: 'tool',
            text: result.content?.[0]?.text ?? '',
            startedAt,
            endedAt: Date.now(),
          });
        } catch (error) {
          log.attempts.push({ writer: w, startedAt, ok: false });
          log.failures.push({
            writer: w,
            tool,
            replica,
            kind: 'transport',
            text: String(error),
            startedAt,
            endedAt: Date.now(),
          });
        }
        await sleep(Math.min(20 * (attempt + 1), 250));
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
  } finally {
    clearInterval(faults);
    await Promise.all(pending);
  }
  return log;
}

/** A client per replica for the checks after a run. */
async function readers(replicas: Replicas): Promise<McpClient[]> {
  return Promise.all(
    Array.from({ length: REPLICAS }, (_, i) => connectClient(replicas.url(i), 'v2 pinned to 2026-07-28')),
  );
}

async function ok(
  client: McpClient,
  tool: string,
  args: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  const result = (await client.callTool({ name: tool, arguments: args })) as ToolResult;
  if (result.isError) throw new Error(`${tool} failed: ${result.content?.[0]?.text?.slice(0, 400)}`);
  return result.structuredContent as Record<string, unknown>;
}

/** Every acknowledged output reads back, exactly, through every replica. */
async function assertOutputsEverywhere(
  clients: McpClient[],
  session: { project_id: string; session_id: string },
  acks: Ack[],
): Promise<void> {
  const outputs = acks.filter((ack) => ack.tool === 'save_agent_output');
  const wrong: string[] = [];
  const reads = outputs.flatMap((ack) => clients.map((client, replica) => ({ ack, client, replica })));
  await inParallel(reads, 12, async ({ ack, client, replica }) => {
    const read = () =>
      client.callTool({
        name: 'get_agent_output',
        arguments: { ...session, phase_num: ack.phase, agent_name: ack.agent },
      }) as Promise<ToolResult>;
    // A request that got no answer at all (its connection closed under it: undici's "other side closed",
    // seen once in a loaded run) is sent again, as a client would; any answer is judged as it came.
    const result = await read().catch(read).catch(read);
    const content = result.structuredContent?.content;
    if (result.isError || content !== ack.content || result.structuredContent?.next_offset !== undefined)
      wrong.push(
        `${ack.agent} via replica ${replica}: ${result.isError ? result.content?.[0]?.text : 'different content'}`,
      );
  });
  expect(wrong.slice(0, 10), `${wrong.length} of ${reads.length} reads`).toEqual([]);
}

/** Every document and kept version of the session, read from the tables, parses; outputs match their digest. */
async function assertNothingTorn(
  storeUrl: string,
  session: { project_id: string; session_id: string },
): Promise<number> {
  const prefix = `${session.project_id}/sessions/${session.session_id}/`;
  const rows = await withDatabase(storeUrl, async (db) => {
    const documents = await db.query(
      'SELECT path, body FROM checkpoint_documents WHERE path = $1 OR starts_with(path, $2)',
      [`${session.project_id}/project.md`, prefix],
    );
    const versions = await db.query(
      "SELECT path || ' v' || version AS label, path, body FROM checkpoint_history WHERE starts_with(path, $1)",
      [prefix],
    );
    return [
      ...documents.rows.map((row: { path: string; body: Buffer }) => ({
        label: row.path,
        path: row.path,
        body: row.body.toString('utf8'),
      })),
      ...versions.rows.map((row: { label: string; path: string; body: Buffer }) => ({
        ...row,
        body: row.body.toString('utf8'),
      })),
    ];
  });
  const torn: string[] = [];
  for (const row of rows) {
    const name = row.path.slice(row.path.lastIndexOf('/') + 1);
    try {
      if (name === 'session_manifest.md') parseManifest(row.body, row.label);
      else if (name === 'checkpoint.md') parseCheckpoint(row.body, row.label);
      else if (name === 'user_feedback.md') parseUserFeedback(row.body, row.label);
      else if (name === 'project.md') parseProject(row.body, row.label);
      else {
        const output = parseAgentOutput(row.body, row.label);
        const digest = createHash('sha256').update(output.content, 'utf8').digest('hex');
        if (digest !== output.sha256) torn.push(`${row.label}: content does not match its SHA-256`);
      }
    } catch (error) {
      torn.push(`${row.label}: ${String(error).slice(0, 200)}`);
    }
  }
  expect(torn).toEqual([]);
  return rows.length;
}

/** The manifest through every replica: the same revision, which counts the acknowledged manifest writes. */
async function manifestRevisions(
  clients: McpClient[],
  session: { project_id: string; session_id: string },
): Promise<number[]> {
  return Promise.all(
    clients.map(async (client) => (await ok(client, 'load_session', session)).revision as number),
  );
}

function manifestWrites(acks: Ack[]): number {
  return acks.filter((ack) => ack.tool === 'save_checkpoint' || ack.tool === 'save_user_feedback').length;
}

/** Failed attempts at a manifest write that may have committed anyway (the answer, not the write, was lost). */
function inDoubtManifestWrites(failures: Failure[]): number {
  return failures.filter(
    (failure) =>
      (failure.tool === 'save_checkpoint' || failure.tool === 'save_user_feedback') &&
      (failure.kind === 'transport' || failure.text.startsWith('UNAVAILABLE: ')),
  ).length;
}

function summary(log: RunLog): string {
  const byTool = (tool: Tool) => log.acks.filter((ack) => ack.tool === tool).length;
  return `${log.acks.length} acknowledged (${byTool('save_agent_output')} outputs, ${byTool('save_checkpoint')} checkpoints, ${byTool('save_user_feedback')} reviews), ${log.failures.length} failed attempts`;
}

describe.skipIf(PG_UNAVAILABLE !== undefined)(
  'three replicas on one database, eight writers on one session',
  () => {
    let cluster: TestCluster;

    beforeAll(async () => {
      cluster = await startCluster();
    });

    afterAll(async () => {
      await cluster?.stop();
    });

    async function setUp(name: string) {
      const storeUrl = await migratedDatabase(cluster, name);
      const replicas = new Replicas(storeUrl);
      await replicas.start();
      const session = { project_id: PROJECT, session_id: name };
      const first = await connectClient(replicas.url(0), 'v2 pinned to 2026-07-28');
      await ok(first, 'create_session', { ...session, user_id: 'u1' });
      return { storeUrl, replicas, session };
    }

    /** The checks every scenario ends with; the manifest's revision within [acknowledged, + in doubt]. */
    async function verify(
      storeUrl: string,
      replicas: Replicas,
      session: { project_id: string; session_id: string },
      log: RunLog,
    ): Promise<void> {
      const clients = await readers(replicas);
      await assertOutputsEverywhere(clients, session, log.acks);
      const revisions = await manifestRevisions(clients, session);
      const acknowledged = 1 + manifestWrites(log.acks);
      expect(new Set(revisions).size, `revisions seen by the replicas: ${revisions}`).toBe(1);
      const revision = revisions[0] as number;
      // Not one acknowledged manifest write lost, and none counted twice.
      expect(revision).toBeGreaterThanOrEqual(acknowledged);
      expect(revision).toBeLessThanOrEqual(acknowledged + inDoubtManifestWrites(log.failures));
      const answered = log.acks.flatMap((ack) => (ack.revision === undefined ? [] : [ack.revision]));
      expect(new Set(answered).size, 'two acknowledged checkpoints answered the same revision').toBe(
        answered.length,
      );
      expect(await assertNothingTorn(storeUrl, session)).toBeGreaterThan(log.acks.length / 2);
      const report = await ok(clients[1] as McpClient, 'validate_session', session);
      expect({ is_valid: report.is_valid, errors: report.errors }).toEqual({ is_valid: true, errors: [] });
    }

    it(
      `writing for ${RUN_MS / 1000} s: every acknowledged save reads back from every replica, and Revision counts the manifest writes`,
      async () => {
        const { storeUrl, replicas, session } = await setUp('calm');
        const log = await runWriters(replicas, session);
        console.info(`calm: ${summary(log)}`);
        expect(log.failures, replicas.stderr()).toEqual([]);
        expect(log.acks.filter((ack) => ack.tool === 'save_checkpoint').length).toBeGreaterThan(WRITERS);
        for (let replica = 0; replica < REPLICAS; replica++)
          expect(log.acks.some((ack) => ack.replica === replica)).toBe(true);
        await verify(storeUrl, replicas, session, log);
        const [revision] = await manifestRevisions(await readers(replicas), session);
        expect(revision).toBe(1 + manifestWrites(log.acks));
      },
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'a replica killed with SIGKILL mid-run and started again: its writers go on elsewhere and come back, nothing acknowledged is lost',
      async () => {
        const { storeUrl, replicas, session } = await setUp('replica_killed');
        let killedAt = 0;
        let restartedAt = 0;
        const log = await runWriters(replicas, session, (elapsed) => {
          if (killedAt !== 0 || elapsed < RUN_MS * 0.3) return undefined;
          killedAt = Date.now();
          return replicas
            .kill(0)
            .then(() => sleep(500))
            .then(() => replicas.restart(0))
            .then(() => {
              restartedAt = Date.now();
            });
        });
        console.info(`replica killed: ${summary(log)}`);
        expect(log.faultErrors).toEqual([]);
        expect(killedAt).toBeGreaterThan(0);
        expect(restartedAt, replicas.stderr()).toBeGreaterThan(killedAt);
        // The writers of replica 0 met the dead replica, went on elsewhere, and came back after its restart.
        const transport = log.failures.filter((failure) => failure.kind === 'transport');
        expect(transport.length).toBeGreaterThan(0);
        expect(transport.every((failure) => failure.replica === 0)).toBe(true);
        expect(log.acks.some((ack) => ack.replica === 0 && ack.startedAt > restartedAt)).toBe(true);
        // Only the transport failed: no tool answered an error.
        expect(log.failures.filter((failure) => failure.kind === 'tool')).toEqual([]);
        await verify(storeUrl, replicas, session, log);
      },
      SCENARIO_TIMEOUT_MS,
    );

    it(
      'PostgreSQL restarted (immediate) mid-run: clients see UNAVAILABLE, the next call after it is back works, nothing acknowledged is lost',
      async () => {
        const { storeUrl, replicas, session } = await setUp('database_restarted');
        let restartFrom = 0;
        let backAt = 0;
        const log = await runWriters(replicas, session, (elapsed) => {
          if (restartFrom !== 0 || elapsed < RUN_MS * 0.3) return undefined;
          restartFrom = Date.now();
          return cluster.restart('immediate').then(() => {
            backAt = Date.now();
          });
        });
        console.info(`database restarted: ${summary(log)}`);
        expect(log.faultErrors).toEqual([]);
        expect(backAt).toBeGreaterThan(restartFrom);
        const during = log.failures.filter(
          (failure) => failure.endedAt >= restartFrom && failure.startedAt <= backAt,
        );
        expect(
          during.some((failure) => failure.text.startsWith('UNAVAILABLE: ')),
          JSON.stringify(during.slice(0, 5)),
        ).toBe(true);
        // Every failure is an UNAVAILABLE tool result: no transport error, no INTERNAL, no torn answer.
        expect(
          log.failures.filter(
            (failure) => failure.kind !== 'tool' || !failure.text.startsWith('UNAVAILABLE: '),
          ),
        ).toEqual([]);
        // Each writer's first attempt that started once the database was back succeeded.
        const firstAfter = Array.from({ length: WRITERS }, (_, w) =>
          log.attempts.find((attempt) => attempt.writer === w && attempt.startedAt > backAt),
        );
        expect(firstAfter.map((attempt) => attempt?.ok)).toEqual(Array.from({ length: WRITERS }, () => true));
        await verify(storeUrl, replicas, session, log);
      },
      SCENARIO_TIMEOUT_MS,
    );
  },
);
