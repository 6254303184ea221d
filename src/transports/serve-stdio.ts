import type { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import type { Engine } from '../checkpoint/store/engine.js';
import type { Activity } from '../tools/activity.js';
import type { Logger } from '../tools/logger.js';
import { Subscriptions } from '../tools/subscriptions.js';
import { StdioTransport } from './stdio.js';

export interface StdioServing {
  /** Builds the server of the connection; serveStdio may build one to probe a 2026 opening first. */
  createServer: (subscriptions: Subscriptions) => McpServer;
  watcher: Pick<Engine, 'watch'>;
  activity: Activity;
  logger: Logger;
  maxLineBytes: number;
  /** Called once the connection is over and every call under way has answered. */
  onDone: () => void;
}

/**
 * One stdio connection of either MCP revision: 2025-11-25 (initialize) or 2026-07-28
 * (server/discover), through our own line transport, which answers oversize and garbage lines
 * itself. Resource updates reach a 2025 client's resources/subscribe and a 2026 client's
 * subscriptions/listen alike: the transport sees which URIs a listen names, and serveStdio routes the
 * server's notifications onto the listen streams that asked for them.
 */
export function serveOverStdio(serving: StdioServing): { shutdown: () => Promise<void> } {
  let current: McpServer | undefined;
  const subscriptions = new Subscriptions(serving.watcher, (uri) => {
    current?.server.sendResourceUpdated({ uri }).catch((error: unknown) => {
      serving.logger.warning(`resource update for ${uri} not sent: ${String(error)}`);
    });
  });
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    subscriptions.close();
    void serving.activity.idle().then(serving.onDone);
  };
  const transport = new StdioTransport(process.stdin, process.stdout, {
    maxLineBytes: serving.maxLineBytes,
    onDiagnostic: (message) => serving.logger.warning(message),
    onListen: (id, uris) => {
      for (const uri of uris) {
        subscriptions.add(listenOwner(id), uri).catch((error: unknown) => {
          serving.logger.warning(`listen ${id}: ${uri} cannot be watched: ${String(error)}`);
        });
      }
    },
    onListenEnd: (id) => subscriptions.remove(listenOwner(id)),
    onClosed: finish,
  });
  serveStdio(
    () => {
      current = serving.createServer(subscriptions);
      return current;
    },
    { transport, onerror: (error) => serving.logger.warning(`stdio: ${error.message}`) },
  );
  return {
    // Stop reading, let the calls under way finish their writes and answers; the close ends the rest.
    shutdown: async () => {
      await transport.drain();
      finish();
    },
  };
}

function listenOwner(id: string): string {
  return `subscriptions/listen ${id}`;
}
