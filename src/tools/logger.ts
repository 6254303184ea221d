import type { McpServer } from '@modelcontextprotocol/server';

export type LogLevel = 'debug' | 'info' | 'warning' | 'error';

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warning(message: string): void;
  error(message: string): void;
}

/**
 * Logs to stderr (stdout belongs to the protocol) and, once a client is connected, as MCP logging
 * notifications, which the client filters with logging/setLevel.
 */
export class ServerLogger implements Logger {
  private server: McpServer | undefined;

  constructor(
    private readonly write: (line: string) => void,
    private readonly quiet = false,
  ) {}

  /** Forwards log lines to the client once it has finished initializing. */
  attach(server: McpServer): void {
    const previous = server.server.oninitialized;
    server.server.oninitialized = () => {
      previous?.();
      this.server = server;
    };
  }

  debug(message: string): void {
    this.log('debug', message);
  }

  info(message: string): void {
    this.log('info', message);
  }

  warning(message: string): void {
    this.log('warning', message);
  }

  error(message: string): void {
    this.log('error', message);
  }

  private log(level: LogLevel, message: string): void {
    if (!this.quiet || level === 'error') this.write(`checkpoint-mcp ${level}: ${message}\n`);
    if (this.server?.isConnected()) {
      this.server
        .sendLoggingMessage({ level, logger: 'checkpoint-mcp', data: message })
        .catch((error: unknown) => {
          this.write(`checkpoint-mcp error: logging notification failed: ${String(error)}\n`);
        });
    }
  }
}
