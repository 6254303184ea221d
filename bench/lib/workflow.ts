import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { proseOfSize } from './fixtures.js';
import { callTool } from './server.js';

export type Ref = {
  project_id: string;
  session_id: string;
};

export const FULL_PHASES = [1, 2, 3, 4, 5, 6, 7] as const;

export const PHASE_DIRS: Record<number, string> = {
  1: 'phase_1_concept',
  2: 'phase_2_market_research',
  3: 'phase_3_niche_selection',
  4: 'phase_4_product_strategy',
  5: 'phase_5_business_planning',
  6: 'phase_6_validation',
  7: 'phase_7_synthesis',
};

export function createSession(client: Client, ref: Ref, mode: 'mvp' | 'full' = 'full'): Promise<unknown> {
  return callTool(client, 'create_session', { ...ref, user_id: 'bench', execution_mode: mode });
}

export function saveOutput(
  client: Client,
  ref: Ref,
  phase_num: number,
  agent_name: string,
  output_content: string,
): Promise<{ sha256: string; file: string }> {
  return callTool(client, 'save_agent_output', {
    ...ref,
    phase_num,
    agent_name,
    output_content,
    model: 'claude-sonnet-4',
    input_tokens: 1200,
    output_tokens: 800,
    duration: 12.5,
    tools_used: ['web_search'],
  });
}

export function saveCheckpoint(
  client: Client,
  ref: Ref,
  phase_num: number,
  status: 'in_progress' | 'completed',
  agents: readonly string[],
): Promise<{ revision: number }> {
  return callTool(client, 'save_checkpoint', {
    ...ref,
    phase_num,
    status,
    execution_mode: 'parallel',
    agents: agents.map((agent_name) => ({
      agent_name,
      status: status === 'completed' ? 'completed' : 'in_progress',
      output_file: `${agent_name}.md`,
      input_tokens: 1200,
      output_tokens: 800,
      cost: 0.0375,
      duration: 12.5,
    })),
  });
}

export function saveFeedback(
  client: Client,
  ref: Ref,
  phase_num: number,
  comments: string,
): Promise<unknown> {
  return callTool(client, 'save_user_feedback', {
    ...ref,
    phase_num,
    reviewed: true,
    approved: true,
    action: 'approved',
    comments,
    requested_changes: ['cite the survey sample size'],
  });
}

/** A finished seven-phase session: `agents` outputs of `bytes` each per phase, every phase completed and approved. */
export async function buildFullSession(
  client: Client,
  ref: Ref,
  agents: number,
  bytes: number,
): Promise<void> {
  await createSession(client, ref, 'full');
  for (const phase of FULL_PHASES) {
    const names = Array.from({ length: agents }, (_, i) => `agent_${phase}_${i}`);
    for (const [i, name] of names.entries())
      await saveOutput(client, ref, phase, name, proseOfSize(bytes, phase * 10 + i));
    await saveCheckpoint(client, ref, phase, 'completed', names);
    await saveFeedback(client, ref, phase, `Looks good for phase ${phase}.`);
  }
}
