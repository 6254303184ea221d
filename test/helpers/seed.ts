import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { callOk } from './client.js';
import { type Documents, editDocument } from './engine.js';

/** The session most tool tests work in. */
export const REF = { project_id: 'p1', session_id: 's1' } as const;

/** Directory of a phase of REF, relative to the base directory. */
export const PHASE_DIRS: Record<number, string> = {
  1: 'phase_1_concept',
  2: 'phase_2_market_research',
  3: 'phase_3_niche_selection',
  4: 'phase_4_product_strategy',
  5: 'phase_5_business_planning',
  6: 'phase_6_validation',
  7: 'phase_7_synthesis',
};

export async function createSession(client: Client, execution_mode: 'mvp' | 'full' = 'mvp'): Promise<void> {
  await callOk(client, 'create_session', { ...REF, user_id: 'u1', execution_mode });
}

export async function saveOutput(
  client: Client,
  phase_num: number,
  agent_name: string,
  output_content: string,
): Promise<void> {
  await callOk(client, 'save_agent_output', { ...REF, phase_num, agent_name, output_content });
}

export async function completePhase(client: Client, phase_num: number, agents: string[]): Promise<void> {
  await callOk(client, 'save_checkpoint', {
    ...REF,
    phase_num,
    status: 'completed',
    agents: agents.map((agent_name) => ({ agent_name, status: 'completed' })),
  });
}

/** Path of a document of REF's session, relative to the store's root (every engine). */
export function sessionDocument(...parts: string[]): string[] {
  return [REF.project_id, 'sessions', REF.session_id, ...parts];
}

/** Overwrites a document with text no parser can understand, as a careless hand edit would. */
export async function corrupt(
  m: Documents,
  path: readonly string[],
  text = 'this file was overwritten by hand\n',
): Promise<void> {
  await editDocument(m, path, text);
}
