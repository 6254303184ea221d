import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { parseProject } from '../../src/checkpoint/formats/project.js';
import { parseUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import { managers, steppingClock } from '../helpers/base-dir.js';
import { documentTree, readDocument } from '../helpers/engine.js';

const REF = { project_id: 'project-123', session_id: 'session-456' } as const;
const SESSION = ['project-123', 'sessions', 'session-456'] as const;
const PHASE_1 = [...SESSION, 'phase_1_concept'] as const;

const OUTPUT = `# Concept Expansion

## Problem
Busy parents waste food and time deciding what to cook.

## Metadata
This heading belongs to the output, not to the file.
`;

/** The `#` and `##` headings of a file, in order: its sections. */
function headings(text: string): string[] {
  return text.split('\n').filter((line) => /^##? /.test(line));
}

describe('the seed usage, replayed', () => {
  it('creates, checkpoints, saves an output and a review, then loads, reads and validates the session', async () => {
    const m = await managers({ clock: steppingClock() });
    const { checkpoints } = m;

    const created = await checkpoints.createSession({ ...REF, user_id: 'user-789', execution_mode: 'mvp' });
    expect(created).toStrictEqual({
      ...REF,
      execution_mode: 'mvp',
      phases: [1, 2, 3, 6, 7],
      path: 'project-123/sessions/session-456',
    });

    const saved = await checkpoints.saveCheckpoint({
      ...REF,
      phase_num: 1,
      status: 'completed',
      started: '2024-11-24T10:00:00Z',
      completed: '2024-11-24T10:02:00.5Z',
      agents: [
        {
          agent_name: 'concept_expansion',
          status: 'completed',
          input_tokens: 1200,
          output_tokens: 2300,
          cost: 0.0375,
          duration: 118.5,
        },
      ],
    });
    expect(saved).toStrictEqual({ phase_num: 1, status: 'completed', revision: 2 });

    const output = await checkpoints.saveAgentOutput({
      ...REF,
      phase_num: 1,
      agent_name: 'concept_expansion',
      output_content: OUTPUT,
      duration: 118.5,
      model: 'claude-sonnet-4-5',
      input_tokens: 1200,
      output_tokens: 2300,
    });
    const sha256 = createHash('sha256').update(OUTPUT, 'utf8').digest('hex');
    expect(output).toStrictEqual({
      phase_num: 1,
      agent_name: 'concept_expansion',
      file: 'project-123/sessions/session-456/phase_1_concept/concept_expansion.md',
      sha256,
    });

    const reviewed = await checkpoints.saveUserFeedback({
      ...REF,
      phase_num: 1,
      reviewed: true,
      approved: true,
      comments: 'Great start. Focus on families.',
    });
    expect(reviewed).toStrictEqual({ phase_num: 1, action: 'approved', phase_status: 'completed' });

    expect(await checkpoints.loadSession(REF)).toStrictEqual({
      ...REF,
      user_id: 'user-789',
      workflow_type: 'idea_validation',
      execution_mode: 'mvp',
      created: '2024-11-24T10:00:01.000Z',
      last_updated: '2024-11-24T10:00:07.000Z',
      status: 'in_progress',
      current_phase: 1,
      completed_phases: [1],
      phase_statuses: { '1': 'completed', '2': 'pending', '3': 'pending', '6': 'pending', '7': 'pending' },
      next_phase: 2,
      can_resume: true,
      metrics: { total_duration: 120.5, total_tokens: 3500, total_cost: 0.0375 },
      revision: 3,
    });
    expect(await checkpoints.getPhaseOutputs(REF)).toStrictEqual({
      outputs: { '1': { concept_expansion: OUTPUT } },
      truncated: [],
    });
    expect(await checkpoints.validateCheckpoint({ ...REF, phase_num: 1 })).toStrictEqual({
      is_valid: true,
      errors: [],
      warnings: [],
    });
    expect(await checkpoints.getApprovedPhases(REF)).toStrictEqual({ phases: [1] });

    expect(await documentTree(m)).toStrictEqual([
      'project-123/',
      'project-123/project.md',
      'project-123/sessions/',
      'project-123/sessions/session-456/',
      'project-123/sessions/session-456/phase_1_concept/',
      'project-123/sessions/session-456/phase_1_concept/checkpoint.md',
      'project-123/sessions/session-456/phase_1_concept/concept_expansion.md',
      'project-123/sessions/session-456/phase_1_concept/user_feedback.md',
      'project-123/sessions/session-456/phase_2_market_research/',
      'project-123/sessions/session-456/phase_3_niche_selection/',
      'project-123/sessions/session-456/phase_6_validation/',
      'project-123/sessions/session-456/phase_7_synthesis/',
      'project-123/sessions/session-456/session_manifest.md',
    ]);

    const project = await readDocument(m, 'project-123', 'project.md');
    expect(headings(project)).toStrictEqual(['# Project: project-123', '## Metadata', '## Startup Idea']);
    expect(parseProject(project, 'project.md')).toMatchObject({
      project_id: 'project-123',
      user_id: 'user-789',
    });

    const manifest = await readDocument(m, ...SESSION, 'session_manifest.md');
    expect(headings(manifest)).toStrictEqual([
      '# Session Manifest',
      '## Metadata',
      '## Phase Status',
      '## Current Phase',
      '## Metrics',
    ]);
    expect(parseManifest(manifest, 'session_manifest.md')).toMatchObject({
      revision: 3,
      phases: [
        {
          phase_num: 1,
          status: 'completed',
          started: '2024-11-24T10:00:00Z',
          completed: '2024-11-24T10:02:00.5Z',
          duration: 120.5,
        },
        { phase_num: 2, status: 'pending' },
        { phase_num: 3, status: 'pending' },
        { phase_num: 6, status: 'pending' },
        { phase_num: 7, status: 'pending' },
      ],
      current_phase: { phase: 1, name: 'Concept Expansion', status: 'completed', can_resume: true },
    });

    const checkpoint = await readDocument(m, ...PHASE_1, 'checkpoint.md');
    expect(headings(checkpoint)).toStrictEqual([
      '# Phase Checkpoint: Concept Expansion',
      '## Metadata',
      '## Agents in Phase',
      '## Metrics',
      '## Agent Ledger',
      '## Outputs',
      '## Next Phase',
    ]);
    expect(checkpoint).toContain(
      '- Agent Outputs: concept_expansion.md\n- User Feedback: user_feedback.md\n',
    );
    expect(checkpoint).toContain(
      '- Phase Number: 2\n- Phase Name: Market Research\n- Ready to Execute: true\n',
    );
    expect(parseCheckpoint(checkpoint, 'checkpoint.md')).toMatchObject({
      phase_num: 1,
      status: 'completed',
      duration: 120.5,
      agents: [
        { agent_name: 'concept_expansion', status: 'completed', input_tokens: 1200, output_tokens: 2300 },
      ],
    });

    const agent = await readDocument(m, ...PHASE_1, 'concept_expansion.md');
    expect(headings(agent.slice(0, agent.indexOf('## Output\n') + 10))).toStrictEqual([
      '# Agent Output: concept_expansion',
      '## Metadata',
      '## Execution Details',
      '## Output',
    ]);
    expect(agent.endsWith(`\n## Output\n\n${OUTPUT}`)).toBe(true);
    expect(parseAgentOutput(agent, 'concept_expansion.md')).toMatchObject({
      model: 'claude-sonnet-4-5',
      sha256,
      content: OUTPUT,
    });

    const feedback = await readDocument(m, ...PHASE_1, 'user_feedback.md');
    expect(headings(feedback)).toStrictEqual([
      '# User Feedback: Concept Expansion',
      '## Review Status',
      '## Requested Changes',
      '## Action Taken',
      '## User Comments',
    ]);
    expect(parseUserFeedback(feedback, 'user_feedback.md')).toMatchObject({
      reviewed: true,
      approved: true,
      requested_changes: [],
      action: 'approved',
      comments: 'Great start. Focus on families.',
    });
  });
});
