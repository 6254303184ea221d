import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';

/** One check a scenario reports, as the suite writes it to checks.json. */
export const Check = z.object({
  id: z.string(),
  status: z.enum(['SUCCESS', 'FAILURE', 'WARNING', 'INFO', 'SKIPPED']),
  description: z.string().optional(),
  errorMessage: z.string().optional(),
});
export type Check = z.infer<typeof Check>;

/** Every scenario the suite ran, in its order, with its checks. */
export type SuiteResult = Map<string, Check[]>;

const RUNNING = /^=== Running scenario: (.+) ===$/gm;
/** `-o DIR` writes DIR/server-<scenario>-<ISO time with : and . as ->/checks.json. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z$/;

/**
 * Runs the server scenarios of one conformance CLI against `url` and reads each scenario's checks.json.
 * The CLI exits 1 whenever a check fails, so the exit code says only that it ran to its summary.
 */
export async function runSuite(
  tool: { node: string; cli: string },
  url: string,
  args: string[],
  timeoutMs: number,
): Promise<SuiteResult> {
  const outputDir = await mkdtemp(join(tmpdir(), 'checkpoint-conformance-'));
  try {
    return await runInto(outputDir, tool, url, args, timeoutMs);
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

async function runInto(
  outputDir: string,
  tool: { node: string; cli: string },
  url: string,
  args: string[],
  timeoutMs: number,
): Promise<SuiteResult> {
  const child = spawn(tool.node, [tool.cli, 'server', '--url', url, '-o', outputDir, ...args], {
    cwd: outputDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => {
    stdout += text;
  });
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    stderr += text;
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(timer);
  if ((code !== 0 && code !== 1) || !stdout.includes('=== SUMMARY ==='))
    throw new Error(`conformance CLI ${args.join(' ')} ended with ${code}:\n${stderr.slice(-4000)}`);

  const written = new Map<string, Check[]>();
  for (const entry of await readdir(outputDir)) {
    const scenario = RESULT_DIR.exec(entry)?.[1];
    if (!scenario) continue;
    const text = await readFile(join(outputDir, entry, 'checks.json'), 'utf8');
    written.set(scenario, z.array(Check).parse(JSON.parse(text)));
  }
  const result: SuiteResult = new Map();
  for (const [, scenario = ''] of stdout.matchAll(RUNNING)) {
    // A scenario that threw is summarised as failed but leaves no checks.json.
    result.set(
      scenario,
      written.get(scenario) ?? [
        {
          id: scenario,
          status: 'FAILURE',
          errorMessage: `the scenario threw; CLI stderr:\n${stderr.slice(-2000)}`,
        },
      ],
    );
  }
  return result;
}

/** The distinct ids of the checks that failed, sorted. */
export function failedChecks(checks: Check[]): string[] {
  return [...new Set(checks.filter((check) => check.status === 'FAILURE').map((check) => check.id))].sort();
}
