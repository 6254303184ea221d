import { spawn } from 'node:child_process';
import { SERVER_ENTRY } from './client.js';

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** This environment without its CHECKPOINT_* variables, and `env` over it: a run sees only the settings a test gives. */
export function cleanEnvironment(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('CHECKPOINT_'));
  return { ...Object.fromEntries(inherited), ...env };
}

/** Runs `dist/server.js ...args` to its end (stdin closed), without any CHECKPOINT_* variable of this environment. */
export function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [SERVER_ENTRY, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnvironment(env),
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
