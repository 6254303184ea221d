// The floor of section 4: an MCP server of the same SDK and stdio, whose save tools make only the
// durable writes the floor of a save counts (bench/lib/floor.ts) and answer; and of section 7's read,
// whose answer_file answers with what a file holds. No markdown, no lock,
// no history numbering, no checks beyond the SDK's own: the least a server on this SDK pays per save.
// Bundled and started as the server is (bench/lib/floor-build.ts): `node FLOOR_LAUNCHER --base-dir DIR`,
// with zod set as the server sets it.
import '../src/zod-jitless.js';
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { McpServer } from '@modelcontextprotocol/server';
import { serveStdio } from '@modelcontextprotocol/server/stdio';
import * as z from 'zod';
import { TOOL_ANSWERED } from '../src/code-cache.js';
import { durableLink, durableWrite } from './lib/floor.js';

const base = process.argv[process.argv.indexOf('--base-dir') + 1];
if (base === undefined) throw new Error('usage: floor-server.ts --base-dir DIR');

const Place = { project_id: z.string(), session_id: z.string(), phase_num: z.number() };

let versions = 0;

function folderOf(place: { project_id: string; session_id: string; phase_num: number }): string {
  const folder = join(base as string, place.project_id, place.session_id, `phase_${place.phase_num}`);
  mkdirSync(join(folder, 'history'), { recursive: true });
  return folder;
}

function answer(structured: Record<string, unknown>) {
  // As the server's tools do: the launcher then writes the code cache of a server that has answered calls.
  (process as EventEmitter).emit(TOOL_ANSWERED);
  return {
    content: [{ type: 'text' as const, text: JSON.stringify(structured) }],
    structuredContent: structured,
  };
}

serveStdio(() => {
  const server = new McpServer({ name: 'bench-floor', version: '1.0.0' }, { capabilities: { tools: {} } });
  server.registerTool(
    'save_agent_output',
    { inputSchema: z.looseObject({ ...Place, agent_name: z.string(), output_content: z.string() }) },
    async (args) => {
      const sha256 = createHash('sha256').update(args.output_content, 'utf8').digest('hex');
      const file = `${args.agent_name}.md`;
      await durableWrite(folderOf(args), file, Buffer.from(args.output_content, 'utf8'));
      return answer({ phase_num: args.phase_num, agent_name: args.agent_name, file, sha256 });
    },
  );
  // What a checkpoint save makes at least: the version replaced linked into history/, the checkpoint
  // written, the manifest written.
  server.registerTool('save_checkpoint', { inputSchema: z.looseObject(Place) }, async (args) => {
    const folder = folderOf(args);
    const data = Buffer.from(JSON.stringify(args), 'utf8');
    const history = join(folder, 'history');
    if (existsSync(join(folder, 'checkpoint.md')))
      await durableLink(folder, 'checkpoint.md', history, `checkpoint.${process.pid}.${++versions}.md`);
    await durableWrite(folder, 'checkpoint.md', data);
    await durableWrite(join(folder, '..'), 'session_manifest.md', data);
    return answer({ phase_num: args.phase_num, revision: versions });
  });
  // The floor of a large read (section 7): an answer read from a file whose JSON is the answer's
  // structured content, sent as any tool's answer is. What this SDK, stdio and the client take to carry it.
  server.registerTool('answer_file', { inputSchema: z.looseObject({ path: z.string() }) }, async (args) =>
    answer(JSON.parse(readFileSync(args.path, 'utf8')) as Record<string, unknown>),
  );
  for (const name of ['create_session', 'load_session']) {
    server.registerTool(name, { inputSchema: z.looseObject({}) }, async () => answer({}));
  }
  return server;
});
