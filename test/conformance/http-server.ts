import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { SERVER_ENTRY } from '../helpers/client.js';

export interface HttpServer {
  /** The Streamable HTTP endpoint, as the server printed it: `http://127.0.0.1:PORT/mcp`. */
  url: string;
  /** Everything the server wrote to stderr so far. */
  stderr: () => string;
  stop: () => Promise<void>;
}

const LISTENING = /checkpoint-mcp listening on (http:\/\/\S+\/mcp)/;

/** The built server as `serve --http --port 0` over `baseDir`, once it has said where it listens. */
export async function startHttpServer(baseDir: string, timeoutMs = 15_000): Promise<HttpServer> {
  const child = spawn(
    process.execPath,
    [SERVER_ENTRY, 'serve', '--http', '--port', '0', '--base-dir', baseDir],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const closed = once(child, 'close');
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --http did not start: ${stderr}`)), timeoutMs);
    child.stderr.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
      const match = LISTENING.exec(stderr);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve --http exited with ${code} before listening: ${stderr}`));
    });
  });
  return {
    url,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await closed;
      clearTimeout(timer);
    },
  };
}
