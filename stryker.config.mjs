// Mutation testing of the file store, the session lock, paging and the response budget: `npm run mutate`
// (scripts/mutate.ts installs StrykerJS into .tools/ and runs it under Node 24). The report goes to
// coverage/mutation/. perTest coverage runs, for each mutant, only the tests that reach its code.
import { fileURLToPath } from 'node:url';

/** Where scripts/mutate.ts installed the vitest runner (the folder name is externalTool's). */
const vitestRunner = fileURLToPath(
  new URL(
    './.tools/_stryker-mutator_vitest-runner_10.1.1/node_modules/@stryker-mutator/vitest-runner/dist/src/index.js',
    import.meta.url,
  ),
);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: [
    'src/checkpoint/store/fs/*.ts',
    'src/checkpoint/model/paging.ts',
    'src/checkpoint/model/budget.ts',
  ],
  testRunner: 'vitest',
  plugins: [vitestRunner],
  vitest: { configFile: 'scripts/mutate.vitest.config.ts', related: true, pool: 'forks' },
  coverageAnalysis: 'perTest',
  // A mutant reached only while modules load (a regular expression or name defined at the top of a file)
  // would need every test, about ten minutes each: such mutants are reported as ignored instead.
  ignoreStatic: true,
  // Stryker rewrites the sandbox's tsconfig through TypeScript's JS API, which TypeScript 7 no longer has;
  // ours needs no rewriting (nothing it names lies outside the project), so none is named.
  tsconfigFile: 'no-tsconfig-to-rewrite.json',
  // The sandbox is a copy of the project: none of what only the build, the docs or other tools use.
  ignorePatterns: ['.tools', 'dist', 'coverage', 'bench', 'examples', 'assets', 'docs', '*.mcpb', '*.tgz'],
  tempDirName: 'coverage/stryker-tmp',
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'coverage/mutation/mutation.html' },
  jsonReporter: { fileName: 'coverage/mutation/mutation.json' },
  clearTextReporter: { allowEmojis: false, logTests: false, reportScoreTable: true },
  thresholds: { high: 90, low: 80, break: null },
  // A lock mutant can wait forever: cut it off at its tests' usual time plus this.
  timeoutMS: 10_000,
  // The first run of every test, one file at a time, to learn which tests reach which mutant.
  dryRunTimeoutMinutes: 30,
};
