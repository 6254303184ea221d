#!/usr/bin/env node
// First: zod's setting holds for every schema made after it (the SDK's too).
import './zod-jitless.js';
import { readFileSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/server';
import { CheckpointManager } from './checkpoint/checkpoint-manager.js';
import { isCheckpointError } from './checkpoint/model/errors.js';
import { IDENTIFIER_RULE, RESERVED_AGENT_NAMES } from './checkpoint/model/identifiers.js';
import type { Limits } from './checkpoint/model/limits.js';
import { ProjectManager } from './checkpoint/project-manager.js';
import { formatRepairReport, removeOrphanFiles, repairBaseDirectory } from './checkpoint/repair.js';
import { WorkflowManager } from './checkpoint/workflow-manager.js';
import { ICONS } from './icons.js';
import { openStore } from './open-store.js';
import { bearerToken, type CliOptions, type HttpOptions, parseOptions, USAGE } from './options.js';
import { Activity } from './tools/activity.js';
import { ToolCatalog, type ToolSet } from './tools/catalog.js';
import { listChanged } from './tools/define.js';
import { registerAllTools } from './tools/index.js';
import { type Logger, ServerLogger } from './tools/logger.js';
import { LEGACY_OWNER } from './tools/resources.js';
import { type SubscriptionRegistry, Subscriptions } from './tools/subscriptions.js';
import { serveOverStdio } from './transports/serve-stdio.js';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export const INSTRUCTIONS = `checkpoint-mcp saves every agent output, phase checkpoint and human review of a phased multi-agent workflow as markdown files, so a run can stop and resume where it stopped.
Workflows: the built-in idea_validation has phases 1 Concept Expansion, 2 Market Research, 3 Niche Selection, 4 Product Strategy, 5 Business Planning, 6 Validation, 7 Final Synthesis; its mvp mode runs 1, 2, 3, 6, 7 and full runs 1 to 7. define_workflow makes your own (phases and modes); list_workflows and get_workflow show them. A session keeps the phases it began with: create_session, start_session and load_session answer with them.
Order of calls:
1. create_project then start_session (or create_session with your own ids).
2. For each phase of the session: each agent calls save_agent_output; then save_checkpoint with the phase status and each agent's tokens, cost and duration.
3. After a human review: save_user_feedback (retry_with_changes sends the phase back, skip_phase skips it).
4. Coming back later: resume_session (what to do next and why), get_phase_outputs (earlier outputs), get_agent_output (one output, paged).
Values: ids (project_id, session_id, user_id, agent_name) are ${IDENTIFIER_RULE}; an agent is never named ${RESERVED_AGENT_NAMES.join(', ')}. Times are RFC 3339 (2024-11-24T10:00:00Z). Durations are seconds, costs US dollars with at most 10 decimal places (summed exactly), tokens whole numbers; all >= 0 and sent as JSON numbers, never strings. Metadata values are one line; outputs, comments and ideas are stored byte for byte.
Errors are tool results whose text starts with a code (INVALID_ARGUMENT, NOT_FOUND, CONFLICT, PHASE_NOT_IN_MODE, LIMIT_EXCEEDED, LOCK_TIMEOUT, CORRUPT_FILE, UNAVAILABLE, INTERNAL), also in _meta.code, and say what to call instead. A failed call acknowledges nothing.`;

export interface ServerDependencies {
  checkpoints: CheckpointManager;
  projects: ProjectManager;
  logger: Logger & { attach?(server: McpServer): void };
  activity?: Activity;
  /** Which tools to offer (default all). */
  tools?: ToolSet;
  /**
   * Documents watched for subscribers, shared by the servers of one connection or process; by
   * default this server's own, publishing to its own client.
   */
  subscriptions?: SubscriptionRegistry;
  /** Tells clients the resource list changed (after a write); by default this server's own notification. */
  onListChanged?: () => void;
}

/** An MCP server with every tool registered; connect it to a transport. No side effects. */
export function createServer(deps: ServerDependencies): McpServer {
  const server = new McpServer(
    {
      name: 'checkpoint-mcp',
      title: 'Checkpoint store for multi-agent workflows',
      version: VERSION,
      icons: ICONS,
    },
    {
      capabilities: {
        logging: {},
        tools: {},
        prompts: {},
        completions: {},
        resources: { subscribe: true, listChanged: true },
      },
      instructions: INSTRUCTIONS,
    },
  );
  deps.logger.attach?.(server);
  const activity = deps.activity ?? new Activity();
  // A write may have added a document: resource lists are stale (sent only when connected).
  const catalog = new ToolCatalog({
    set: deps.tools ?? 'all',
    logger: deps.logger,
    activity,
    maxResponseBytes: deps.checkpoints.limits.maxResponseBytes,
    onWrite: deps.onListChanged ?? (() => listChanged(server)),
  });
  registerAllTools({
    server,
    logger: deps.logger,
    checkpoints: deps.checkpoints,
    projects: deps.projects,
    workflows: new WorkflowManager(deps.checkpoints.store, deps.checkpoints.workflows),
    activity,
    subscriptions: deps.subscriptions ?? ownSubscriptions(server, deps.checkpoints),
    catalog,
  });
  return server;
}

/** Longest request line: content JSON-escaped at worst six bytes a byte, plus room for the rest. */
/** Subscriptions of one server alone, ended when its connection closes. */
function ownSubscriptions(server: McpServer, checkpoints: CheckpointManager): Subscriptions {
  const subscriptions = new Subscriptions(checkpoints.store, (uri) => {
    server.server.sendResourceUpdated({ uri }).catch(() => subscriptions.remove(LEGACY_OWNER, uri));
  });
  const previousClose = server.server.onclose;
  server.server.onclose = () => {
    subscriptions.close();
    previousClose?.();
  };
  return subscriptions;
}

export function maxLineBytes(limits: Limits): number {
  return 6 * Math.max(limits.maxContentBytes, limits.maxTextBytes) + 2 * 1024 * 1024;
}

async function main(): Promise<void> {
  let options: CliOptions;
  try {
    options = parseOptions(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(
      `checkpoint-mcp: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`,
    );
    process.exit(2);
  }
  if (options.command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (options.command === 'version') {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  if (options.command === 'migrate' || options.command === 'export' || options.command === 'import') {
    const { runStoreCommand } = await import('./store-commands.js');
    const lines = await runStoreCommand(options).catch((error: unknown) => {
      if (isCheckpointError(error)) throw new StartupError(error.message);
      throw error;
    });
    process.stdout.write(`${lines.join('\n')}\n`);
    return;
  }
  const logger = new ServerLogger((line) => process.stderr.write(line));
  const store = await openStore(options, logger).catch((error: unknown) => {
    // A database that is behind or out of reach is a setting to fix: one line, no stack.
    if (isCheckpointError(error)) throw new StartupError(error.message);
    throw error;
  });
  const checkpoints = new CheckpointManager(store, undefined, options.limits);
  if (options.command === 'repair') {
    const report = await repairBaseDirectory(store, checkpoints);
    process.stdout.write(`${formatRepairReport(report).join('\n')}\n`);
    process.exit(report.changes.some((change) => change.action === 'failed') ? 1 : 0);
  }
  const projects = new ProjectManager(store, checkpoints);
  const activity = new Activity();
  const build = (hooks: Pick<ServerDependencies, 'subscriptions' | 'onListChanged'>) =>
    createServer({ checkpoints, projects, logger, activity, tools: options.tools, ...hooks });
  if (options.http) {
    // node:http, node:http2 and the HTTP transport load only here: a stdio host never waits for them.
    const { serveHttp } = await import('./transports/http.js');
    const http = await serveHttp({
      ...options.http,
      token: await httpToken(options.http),
      createServer: build,
      watcher: store,
      activity,
      logger,
      maxBodyBytes: maxLineBytes(options.limits),
      healthy: () => store.healthy(),
    }).catch((error: unknown) => {
      throw listenError(error, options.http as HttpOptions);
    });
    // One line a supervisor or a test can wait for; with --port 0 it is the only way to learn the port.
    process.stderr.write(`checkpoint-mcp listening on ${http.url}\n`);
    const stop = () => void http.close().then(() => process.exit(0));
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  } else {
    const serving = serveOverStdio({
      createServer: (subscriptions) => build({ subscriptions }),
      watcher: store,
      activity,
      logger,
      maxLineBytes: maxLineBytes(options.limits),
      onDone: () => process.exit(0),
    });
    process.on('SIGINT', () => void serving.shutdown());
    process.on('SIGTERM', () => void serving.shutdown());
  }
  logger.info(`serving ${store.root} over ${options.http ? 'HTTP' : 'stdio'}`);
  // The sweep walks every session folder: it waits until the first calls of a fresh process (a host
  // starts one per conversation) are answered, so that they do not share the disk and the CPU with it.
  // Nothing waits on it: a temporary file of a dead writer is never read, it only takes up room.
  setTimeout(() => {
    removeOrphanFiles(store)
      .then((removed) => {
        if (removed.length > 0) logger.info(`removed ${removed.length} orphaned temporary or lock files`);
      })
      .catch((error: unknown) => logger.warning(`orphan cleanup failed: ${String(error)}`));
  }, ORPHAN_SWEEP_DELAY_MS).unref();
}

/** How long after start-up the orphan sweep begins. */
const ORPHAN_SWEEP_DELAY_MS = 2_000;

/** A setting that cannot work: said in one line, without a stack, and the exit code of a usage error. */
class StartupError extends Error {}

/**
 * The bearer token from --token-file or CHECKPOINT_HTTP_TOKEN. Listening beyond loopback without one
 * would hand the checkpoints to anyone who can reach the port: that refuses to start.
 */
async function httpToken(http: HttpOptions): Promise<string | undefined> {
  const { isLoopback } = await import('./transports/http-guards.js');
  const token = http.tokenFile === undefined ? http.token : (await readTokenFile(http.tokenFile)).trim();
  if (token === '') throw new StartupError(`--token-file ${http.tokenFile} is empty`);
  if (token !== undefined && http.tokenFile !== undefined) {
    try {
      bearerToken(token, `--token-file ${http.tokenFile}`);
    } catch (error) {
      throw new StartupError((error as Error).message);
    }
  }
  if (token === undefined && !isLoopback(http.host)) {
    throw new StartupError(
      `--host ${http.host} is reachable from other machines, so HTTP needs a bearer token: set CHECKPOINT_HTTP_TOKEN or --token-file <path> (a file holding one long random line), or listen on 127.0.0.1`,
    );
  }
  return token;
}

/** Why --http cannot listen where it was told (the port taken, the host no address here), as a setting to fix. */
function listenError(error: unknown, http: HttpOptions): unknown {
  const code = (error as { code?: unknown }).code;
  if (!(error instanceof Error) || typeof code !== 'string' || !('syscall' in error)) return error;
  const where = `${http.host}:${http.port}`;
  if (code === 'EADDRINUSE')
    return new StartupError(
      `cannot listen on ${where}: another program (or another checkpoint-mcp) uses that port; choose another --port, or --port 0 for a free one`,
    );
  return new StartupError(
    `cannot listen on ${where} (${error.message}): check --host (an address of this machine) and --port`,
  );
}

async function readTokenFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new StartupError(
      `--token-file ${path} cannot be read (${(error as Error).message}): name a file holding the token, or set CHECKPOINT_HTTP_TOKEN`,
    );
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === fileURLToPath(import.meta.url);
  } catch {
    // An entry we cannot resolve is not this file.
    return false;
  }
}

if (isEntryPoint()) {
  main().catch((error: unknown) => {
    if (error instanceof StartupError) {
      process.stderr.write(`checkpoint-mcp: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `checkpoint-mcp: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
