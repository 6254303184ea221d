// Section 7: reading back a 4 MiB output of nested lists and tables, the markdown parser's worst case.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nestedListsAndTables } from './lib/fixtures.js';
import { callTool, startCheckpointServer, startFloorServer } from './lib/server.js';
import { type Summary, summarizeAll, timeInterleaved } from './lib/stats.js';
import { createSession, type Ref, saveCheckpoint, saveOutput } from './lib/workflow.js';

export interface WorstCaseResult {
  bytes: number;
  pages: number;
  /** Whether the pages joined equal the saved content exactly. */
  exact: boolean;
  calls: number;
  operations: Record<string, Summary>;
}

interface Page {
  content: string;
  next_offset?: number;
}

const MiB = 1024 * 1024;

/** Section 7's row of the floor server answering with the first page's answer. */
export const FLOOR_SERVER_FIRST_PAGE = 'floor server: the first page’s answer';

export async function benchWorstCase(workDir: string, calls: number): Promise<WorstCaseResult> {
  const server = await startCheckpointServer(join(workDir, 'worst-case'));
  const floor = await startFloorServer(join(workDir, 'worst-case-floor'));
  const { client } = server;
  try {
    const ref: Ref = { project_id: 'bench', session_id: 'worst-case' };
    const content = nestedListsAndTables(4 * MiB);
    await createSession(client, ref);
    await saveOutput(client, ref, 1, 'deep_tables', content);
    await saveCheckpoint(client, ref, 1, 'completed', ['deep_tables']);
    const target = { ...ref, phase_num: 1, agent_name: 'deep_tables' };
    const readAll = async () => {
      const pages: string[] = [];
      for (let offset: number | undefined = 0; offset !== undefined; ) {
        const page: Page = await callTool<Page>(client, 'get_agent_output', { ...target, offset });
        pages.push(page.content);
        offset = page.next_offset;
      }
      return pages;
    };
    const pages = await readAll();
    // The same answer, from a server that only reads it from a file and sends it.
    const answerFile = join(workDir, 'worst-case-first-page.json');
    await writeFile(answerFile, JSON.stringify(await callTool(client, 'get_agent_output', target)));
    const times = await timeInterleaved(5, Math.ceil(calls / 5), {
      'get_agent_output, first page': () => callTool(client, 'get_agent_output', target),
      [FLOOR_SERVER_FIRST_PAGE]: () => callTool(floor.client, 'answer_file', { path: answerFile }),
      'get_agent_output, every page': readAll,
      get_phase_outputs: () => callTool(client, 'get_phase_outputs', { ...ref, phase_nums: [1] }),
    });
    return {
      bytes: content.length,
      pages: pages.length,
      exact: pages.join('') === content,
      calls,
      operations: summarizeAll(times),
    };
  } finally {
    await server.close();
    await floor.close();
  }
}
