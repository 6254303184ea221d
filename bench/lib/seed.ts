import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openManager } from './core.js';
import { proseOfSize } from './fixtures.js';

export const SCALE_PROJECT = 'scale';
const MVP_DIRS = [
  'phase_1_concept',
  'phase_2_market_research',
  'phase_3_niche_selection',
  'phase_6_validation',
  'phase_7_synthesis',
];

export function sessionId(i: number): string {
  return `s${String(i).padStart(5, '0')}`;
}

/**
 * `count` sessions in project "scale": each has phase 1 completed with a 1 KB output, and every
 * `largeEvery`-th also a 100 KB output. The first two are written by the core (without fsync, for
 * speed); the rest are copies of their files with the session id changed, made in creation order.
 */
export async function seedSessions(baseDir: string, count: number, largeEvery = 10): Promise<void> {
  const manager = await openManager(baseDir, false);
  for (const i of [0, 1]) {
    const ref = { project_id: SCALE_PROJECT, session_id: sessionId(i) };
    const agents = i === 1 ? ['analyst', 'researcher'] : ['analyst'];
    await manager.createSession({ ...ref, user_id: 'bench' });
    for (const agent of agents) {
      const content = proseOfSize(agent === 'researcher' ? 100 * 1024 : 1024, i);
      await manager.saveAgentOutput({ ...ref, phase_num: 1, agent_name: agent, output_content: content });
    }
    await manager.saveCheckpoint({
      ...ref,
      phase_num: 1,
      status: 'completed',
      agents: agents.map((agent_name) => ({
        agent_name,
        status: 'completed',
        input_tokens: 900,
        output_tokens: 400,
      })),
    });
  }
  const sessions = join(baseDir, SCALE_PROJECT, 'sessions');
  const templates = [readTemplate(join(sessions, sessionId(0))), readTemplate(join(sessions, sessionId(1)))];
  for (let i = 2; i < count; i++) {
    const template = templates[i % largeEvery === 1 ? 1 : 0] ?? [];
    const id = sessionId(i);
    const dir = join(sessions, id);
    mkdirSync(dir);
    for (const phase of MVP_DIRS) mkdirSync(join(dir, phase));
    for (const file of template) {
      const text =
        file.path === 'session_manifest.md'
          ? file.text.replace(/^- Session ID: .*$/m, `- Session ID: ${id}`)
          : file.text;
      writeFileSync(join(dir, file.path), text);
    }
  }
}

function readTemplate(dir: string): Array<{ path: string; text: string }> {
  const files = [
    { path: 'session_manifest.md', text: readFileSync(join(dir, 'session_manifest.md'), 'utf8') },
  ];
  for (const name of readdirSync(join(dir, 'phase_1_concept'))) {
    if (name.startsWith('.') || !name.endsWith('.md')) continue;
    files.push({
      path: join('phase_1_concept', name),
      text: readFileSync(join(dir, 'phase_1_concept', name), 'utf8'),
    });
  }
  return files;
}
