#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CheckpointManager } from './checkpoint/checkpoint-manager.js';
import { DEFAULT_LIMITS, type Limits } from './checkpoint/limits.js';
import { ProjectManager } from './checkpoint/project-manager.js';
import { formatRepairReport, removeOrphanFiles, repairBaseDirectory } from './checkpoint/repair.js';
import { Store } from './checkpoint/store.js';
import { DocumentWatcher } from './checkpoint/watcher.js';
import { Activity } from './tools/activity.js';
import { registerAllTools } from './tools/index.js';
import { type Logger, ServerLogger } from './tools/logger.js';
import { StdioTransport } from './transports/stdio.js';

export const VERSION: string = JSON.parse(
  readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
).version;

export const INSTRUCTIONS = `checkpoint-mcp saves every agent output, phase checkpoint and human review of a seven-phase idea-validation workflow as markdown files, so a run can stop and resume.
Order of calls:
1. create_project then start_session (or create_session with your own ids).
2. For each phase of the session's mode (mvp: 1, 2, 3, 6, 7; full: 1-7): each agent calls save_agent_output; then save_checkpoint with the phase status and the agents' tokens, cost and duration.
3. After a human review: save_user_feedback (retry_with_changes sends the phase back, skip_phase skips it).
4. To continue later: load_session (state, next_phase), get_phase_outputs (earlier outputs), get_agent_output (one output, paged).
Errors start with a code (NOT_FOUND, CONFLICT, PHASE_NOT_IN_MODE, ...) and say which tool to call instead.`;

export interface ServerDependencies {
  checkpoints: CheckpointManager;
  projects: ProjectManager;
  logger: Logger & { attach?(server: McpServer): void };
  activity?: Activity;
}

/** An MCP server with every tool registered; connect it to a transport. No side effects. */
export function createServer(deps: ServerDependencies): McpServer {
  const server = new McpServer(
    { name: 'checkpoint-mcp', title: 'Checkpoint store for multi-agent workflows', version: VERSION },
    {
      capabilities: {
        logging: {},
        tools: {},
        prompts: {},
        completions: {},
        resources: { subscribe: true, listChanged: true },
      },
      instructions: INSTRUCTIONS,
      // Bounds the argument tree the SDK walks, far above 1,000 agents of 8 fields each.
      maxToolInputElements: 50_000,
    },
  );
  deps.logger.attach?.(server);
  registerAllTools({
    server,
    logger: deps.logger,
    checkpoints: deps.checkpoints,
    projects: deps.projects,
    activity: deps.activity ?? new Activity(),
    watcher: new DocumentWatcher(deps.checkpoints.store),
  });
  return server;
}

export interface CliOptions {
  command: 'serve' | 'repair' | 'help' | 'version';
  baseDir: string;
  limits: Limits;
  lockTimeoutMs: number;
  staleLockMs: number;
}

export const USAGE = `Usage: checkpoint-mcp [repair] [options]

Runs the checkpoint-mcp MCP server over stdio (or, with "repair", rebuilds every session manifest of
the base directory from its checkpoints, removes orphaned temporary files and prints what changed).

Options:
  --base-dir <path>             base directory of the markdown tree (env CHECKPOINT_BASE_DIR, default ./projects)
  --max-content-bytes <n>       largest agent output in UTF-8 bytes (env CHECKPOINT_MAX_CONTENT_BYTES, default 4194304)
  --max-response-bytes <n>      most content in one tool result (env CHECKPOINT_MAX_RESPONSE_BYTES, default 1048576)
  --lock-timeout-ms <n>         wait for a session lock before LOCK_TIMEOUT (default 10000)
  --stale-lock-ms <n>           take over a lock older than this (default 30000)
  --help                        print this help
  --version                     print the version
`;

export function parseOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): CliOptions {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      'base-dir': { type: 'string' },
      'max-content-bytes': { type: 'string' },
      'max-response-bytes': { type: 'string' },
      'lock-timeout-ms': { type: 'string' },
      'stale-lock-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  });
  if (positionals.length > 1 || (positionals[0] !== undefined && positionals[0] !== 'repair')) {
    throw new Error(`unknown command ${JSON.stringify(positionals.join(' '))}; the only command is "repair"`);
  }
  const command = values.help
    ? 'help'
    : values.version
      ? 'version'
      : positionals[0] === 'repair'
        ? 'repair'
        : 'serve';
  return {
    command,
    baseDir: values['base-dir'] ?? env.CHECKPOINT_BASE_DIR ?? './projects',
    limits: {
      ...DEFAULT_LIMITS,
      maxContentBytes: positive(
        '--max-content-bytes',
        values['max-content-bytes'] ?? env.CHECKPOINT_MAX_CONTENT_BYTES,
        DEFAULT_LIMITS.maxContentBytes,
      ),
      maxResponseBytes: positive(
        '--max-response-bytes',
        values['max-response-bytes'] ?? env.CHECKPOINT_MAX_RESPONSE_BYTES,
        DEFAULT_LIMITS.maxResponseBytes,
      ),
    },
    lockTimeoutMs: positive('--lock-timeout-ms', values['lock-timeout-ms'], 10_000),
    staleLockMs: positive('--stale-lock-ms', values['stale-lock-ms'], 30_000),
  };
}

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value <= 0)
    throw new Error(`${name} must be a whole number > 0, got ${JSON.stringify(text)}`);
  return value;
}

/** Longest request line: content JSON-escaped at worst six bytes a byte, plus room for the rest. */
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
  const logger = new ServerLogger((line) => process.stderr.write(line));
  const store = await Store.open(options.baseDir, {
    lockTimeoutMs: options.lockTimeoutMs,
    staleLockMs: options.staleLockMs,
  });
  const checkpoints = new CheckpointManager(store, undefined, options.limits);
  if (options.command === 'repair') {
    const report = await repairBaseDirectory(store, checkpoints);
    process.stdout.write(`${formatRepairReport(report).join('\n')}\n`);
    process.exit(report.changes.some((change) => change.action === 'failed') ? 1 : 0);
  }
  const projects = new ProjectManager(store, checkpoints);
  const activity = new Activity();
  const server = createServer({ checkpoints, projects, logger, activity });
  const transport = new StdioTransport(process.stdin, process.stdout, {
    maxLineBytes: maxLineBytes(options.limits),
    onDiagnostic: (message) => logger.warning(message),
  });
  let stopping = false;
  // Stop reading, let the calls under way finish their writes and answers, then exit 0.
  const shutdown = async () => {
    if (stopping) return;
    stopping = true;
    await transport.drain();
    await activity.idle();
    process.exit(0);
  };
  await server.connect(transport);
  const closeResources = server.server.onclose;
  server.server.onclose = () => {
    closeResources?.();
    void activity.idle().then(() => process.exit(0));
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  logger.info(`serving ${store.root} over stdio`);
  removeOrphanFiles(store)
    .then((removed) => {
      if (removed.length > 0) logger.info(`removed ${removed.length} orphaned temporary or lock files`);
    })
    .catch((error: unknown) => logger.warning(`orphan cleanup failed: ${String(error)}`));
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
    process.stderr.write(
      `checkpoint-mcp: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  });
}
