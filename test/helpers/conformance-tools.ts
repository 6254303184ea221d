import { type ExternalPackage, externalTool, NODE_24 } from './external-tools.js';

/** The server suite of the 2025-11-25 revision: stateful, an initialize handshake per scenario. */
export const CONFORMANCE_2025: ExternalPackage = {
  spec: '@modelcontextprotocol/conformance@0.1.16',
  entry: 'node_modules/@modelcontextprotocol/conformance/dist/index.js',
};

/** The suite whose `--requirements 2026-07-28` set scores the stateless 2026-07-28 revision. */
export const CONFORMANCE_2026: ExternalPackage = {
  spec: '@modelcontextprotocol/conformance@0.2.0-alpha.12',
  entry: 'node_modules/@modelcontextprotocol/conformance/dist/index.js',
};

/**
 * The node binary and CLI file that run a conformance suite, installed on first use. Both versions
 * import `globSync` from `fs` at start-up, which Node 20 lacks, so they run under Node 24.
 */
export function conformanceCli(pkg: ExternalPackage): { node: string; cli: string } {
  return { node: externalTool(NODE_24), cli: externalTool(pkg) };
}
