// Mutation testing of the store, the session lock, paging and the response budget: StrykerJS with its
// vitest runner (stryker.config.mjs says what is mutated and which suites judge). Stryker 10 needs
// Node 22+, so it is installed on first use into .tools/ (outside the project's dependencies, so that
// `npm install` stays quiet on Node 20) and run under Node 24 from there.
//
//   npm run mutate                                       the whole run; report in coverage/mutation/
//   npm run mutate -- --mutate src/checkpoint/model/paging.ts    one file (any Stryker option passes on)
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExternalPackage, externalTool, NODE_24 } from '../test/helpers/external-tools.js';

const STRYKER: ExternalPackage = {
  spec: '@stryker-mutator/core@10.1.1',
  entry: 'node_modules/@stryker-mutator/core/bin/stryker.js',
};

/** stryker.config.mjs finds it here as its plugin (the folder name is externalTool's). */
const STRYKER_VITEST: ExternalPackage = {
  spec: '@stryker-mutator/vitest-runner@10.1.1',
  entry: 'node_modules/@stryker-mutator/vitest-runner/dist/src/index.js',
};

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const node = externalTool(NODE_24);
const stryker = externalTool(STRYKER);
// Without its peers: the runner must drive the project's own vitest (found from .tools/ up the folder
// tree), since a second copy would not see the tests' `describe` and `it` as its own.
process.env.npm_config_legacy_peer_deps = 'true';
externalTool(STRYKER_VITEST);

const run = spawnSync(
  node,
  [stryker, 'run', join(root, 'stryker.config.mjs'), ...process.argv.slice(2)],
  // The sandbox runs the tests with `node` from PATH too: let that be Node 24 as well.
  { cwd: root, stdio: 'inherit', env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}` } },
);
process.exit(run.status ?? 1);
