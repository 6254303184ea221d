import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFORMANCE_2025, CONFORMANCE_2026, conformanceCli } from '../helpers/conformance-tools.js';
import type { ExternalPackage } from '../helpers/external-tools.js';
import { createSession } from '../helpers/seed.js';
import { differencesFromBaseline, loadBaseline } from './baseline.js';
import { type HttpServer, startHttpServer } from './http-server.js';
import { runSuite, type SuiteResult } from './run-suite.js';

interface Suite {
  /** The revision it scores, and its key in baseline.json. */
  revision: string;
  pkg: ExternalPackage;
  args: string[];
  /**
   * Scenarios that need none of the reference server's fixtures: each must pass every check it can
   * exercise. A check the suite itself reports "Not testable" (it calls a fixture tool) may fail, if
   * the baseline lists it.
   */
  mustPass: string[];
}

const SUITES: Suite[] = [
  {
    revision: '2025-11-25',
    pkg: CONFORMANCE_2025,
    args: [],
    mustPass: [
      'server-initialize',
      'ping',
      'logging-set-level',
      'tools-list',
      'resources-list',
      'prompts-list',
      'dns-rebinding-protection',
      'resources-subscribe',
      'resources-unsubscribe',
    ],
  },
  {
    revision: '2026-07-28',
    pkg: CONFORMANCE_2026,
    args: ['--requirements', '2026-07-28'],
    mustPass: [
      'server-stateless',
      'tools-list',
      'resources-list',
      'prompts-list',
      'caching',
      'dns-rebinding-protection',
      'sep-2164-resource-not-found',
      'http-header-validation',
    ],
  },
];

const NOT_TESTABLE = /^Not testable: /;

let base = '';
let server: HttpServer | undefined;
const results = new Map<string, SuiteResult>();

beforeAll(async () => {
  const tools = SUITES.map((suite) => conformanceCli(suite.pkg));
  base = await mkdtemp(join(tmpdir(), 'checkpoint-conformance-base-'));
  const running = await startHttpServer(base);
  server = running;
  // resources-list and caching read resources: give them a project and a session to find.
  const client = new Client({ name: 'conformance-seed', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(running.url)));
  await createSession(client);
  await client.close();
  // One suite at a time: the scenarios of one must not see the traffic of the other.
  for (const [index, suite] of SUITES.entries()) {
    const tool = tools[index];
    if (tool) results.set(suite.revision, await runSuite(tool, running.url, suite.args, 120_000));
  }
}, 600_000);

afterAll(async () => {
  await server?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

for (const suite of SUITES)
  describe(`${suite.pkg.spec} (${suite.revision}) against serve --http`, () => {
    function result(): SuiteResult {
      const run = results.get(suite.revision);
      if (!run) throw new Error(`the ${suite.revision} suite did not run`);
      return run;
    }

    it('passes every check of the scenarios that need no fixture', () => {
      const problems: string[] = [];
      for (const scenario of suite.mustPass) {
        const checks = result().get(scenario);
        if (!checks) {
          problems.push(`${scenario}: did not run`);
          continue;
        }
        if (!checks.some((check) => check.status === 'SUCCESS'))
          problems.push(`${scenario}: no check passed`);
        for (const check of checks) {
          if (check.status === 'SKIPPED')
            problems.push(`${scenario}: ${check.id} skipped: ${check.errorMessage}`);
          if (check.status === 'FAILURE' && !NOT_TESTABLE.test(check.errorMessage ?? ''))
            problems.push(`${scenario}: ${check.id} failed: ${check.errorMessage}`);
        }
      }
      expect(problems, `server log:\n${server?.stderr().slice(-3000)}`).toEqual([]);
    });

    it('fails exactly the checks its baseline lists, so the baseline stays true', () => {
      const baseline = loadBaseline().suites[suite.revision];
      expect(baseline, `test/conformance/baseline.json has no suite ${suite.revision}`).toBeDefined();
      if (baseline) expect(differencesFromBaseline(suite.revision, result(), baseline)).toEqual([]);
    });
  });

describe('test/conformance/baseline.json', () => {
  it('lists, for each pinned suite, each expected failure with its failing checks and a reason', () => {
    const baseline = loadBaseline();
    expect(Object.keys(baseline.suites).sort()).toEqual(SUITES.map((suite) => suite.revision).sort());
    for (const suite of SUITES) {
      const entry = baseline.suites[suite.revision];
      expect(entry?.package, 'a new suite version needs a new look at every baselined failure').toBe(
        suite.pkg.spec,
      );
      for (const [scenario, failure] of Object.entries(entry?.expectedFailures ?? {}))
        expect(failure.reason.trim(), `${suite.revision} ${scenario}`).not.toBe('');
    }
  });
});
