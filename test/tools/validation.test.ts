import { describe, expect, it } from 'vitest';
import { callOk, connectedClient, expectToolError } from '../helpers/client.js';
import { editDocument, readDocument, removeDocument } from '../helpers/engine.js';
import { completePhase, corrupt, createSession, REF, saveOutput, sessionDocument } from '../helpers/seed.js';

interface Report {
  is_valid: boolean;
  errors: string[];
  warnings: string[];
}

describe('validate_checkpoint', () => {
  it('validate_checkpoint finds a freshly saved phase valid', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await saveOutput(client, 1, 'concept_expansion', 'idea');
    await completePhase(client, 1, ['concept_expansion']);
    expect(await callOk(client, 'validate_checkpoint', { ...REF, phase_num: 1 })).toEqual({
      is_valid: true,
      errors: [],
      warnings: [],
    });
  });

  it('validate_checkpoint warns of a hand-edited output and errs on a missing one', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'edited', 'original');
    await saveOutput(client, 1, 'lost', 'soon gone');
    await completePhase(client, 1, ['edited', 'lost']);
    const edited = sessionDocument('phase_1_concept', 'edited.md');
    await editDocument(m, edited, (await readDocument(m, ...edited)).replace('original', 'changed by hand'));
    await removeDocument(m, ...sessionDocument('phase_1_concept', 'lost.md'));
    const report = await callOk<Report>(client, 'validate_checkpoint', { ...REF, phase_num: 1 });
    expect(report.is_valid).toBe(false);
    expect(report.errors).toEqual([expect.stringContaining('lost')]);
    expect(report.warnings).toEqual([expect.stringContaining('edited.md')]);
  });

  it('validate_checkpoint reports a hand-corrupted checkpoint as an error with its line, not a failed call', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('phase_1_concept', 'checkpoint.md'));
    const report = await callOk<Report>(client, 'validate_checkpoint', { ...REF, phase_num: 1 });
    expect(report.is_valid).toBe(false);
    expect(report.errors).toEqual([expect.stringMatching(/phase_1_concept\/checkpoint\.md:\d+/)]);
  });

  it('a verbatim heading written with trailing spaces or other letter case is CORRUPT_FILE at its own line, saying how to write it', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'writer', 'text');
    await completePhase(client, 1, ['writer']);
    await callOk(client, 'save_user_feedback', { ...REF, phase_num: 1, reviewed: true, approved: true });
    const output = sessionDocument('phase_1_concept', 'writer.md');
    await editDocument(m, output, (await readDocument(m, ...output)).replace('## Output\n', '## Output  \n'));
    const review = sessionDocument('phase_1_concept', 'user_feedback.md');
    await editDocument(
      m,
      review,
      (await readDocument(m, ...review)).replace('## User Comments', '## User comments'),
    );
    const outputLine = (await readDocument(m, ...output)).split('\n').indexOf('## Output  ') + 1;
    const reviewLine = (await readDocument(m, ...review)).split('\n').indexOf('## User comments') + 1;
    const atOutput = `p1/sessions/s1/phase_1_concept/writer.md:${outputLine}: "## Output  " must be exactly "## Output"`;
    const atReview = `p1/sessions/s1/phase_1_concept/user_feedback.md:${reviewLine}: "## User comments" must be exactly "## User Comments"`;
    expect(
      await expectToolError(
        client,
        'get_agent_output',
        { ...REF, phase_num: 1, agent_name: 'writer' },
        'CORRUPT_FILE',
      ),
    ).toContain(atOutput);
    expect(await expectToolError(client, 'get_approved_phases', REF, 'CORRUPT_FILE')).toContain(atReview);
    const report = await callOk<Report>(client, 'validate_checkpoint', { ...REF, phase_num: 1 });
    expect(report.errors).toEqual([expect.stringContaining(atOutput), expect.stringContaining(atReview)]);
  });

  it('validate_checkpoint names a Metrics sum edited by hand and a ledger row of no listed agent: no reader counts either', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'alpha', 'a');
    await saveOutput(client, 1, 'beta', 'b');
    await callOk(client, 'save_checkpoint', {
      ...REF,
      phase_num: 1,
      status: 'completed',
      agents: [
        { agent_name: 'alpha', status: 'completed', tokens: 30, cost: 0.05 },
        { agent_name: 'beta', status: 'completed', tokens: 5, cost: 0.001 },
      ],
    });
    const checkpoint = sessionDocument('phase_1_concept', 'checkpoint.md');
    const text = (await readDocument(m, ...checkpoint))
      .replace('- Cost: $0.051', '- Cost: $9.99')
      .replace('| alpha |', '| Alpha |');
    await editDocument(m, checkpoint, text);
    const lines = text.split('\n');
    const costLine = lines.indexOf('- Cost: $9.99') + 1;
    const rowLine = lines.findIndex((line) => line.startsWith('| Alpha |')) + 1;
    const label = 'p1/sessions/s1/phase_1_concept/checkpoint.md';
    const report = await callOk<Report>(client, 'validate_checkpoint', { ...REF, phase_num: 1 });
    expect(report.warnings).toEqual([
      expect.stringContaining(
        `${label}:${lines.indexOf('- Total Tokens: 35') + 1}: Total Tokens is 35 but the Agent Ledger's rows add up to 5`,
      ),
      expect.stringContaining(
        `${label}:${costLine}: Cost is $9.99 but the Agent Ledger's rows add up to $0.001`,
      ),
      expect.stringContaining(
        `${label}:${rowLine}: the Agent Ledger row of "Alpha" names no agent of Agents in Phase`,
      ),
    ]);
  });

  it('validate_checkpoint names an output file the checkpoint does not list whose head says another agent: get_phase_outputs serves it under its file name', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await saveOutput(client, 1, 'alpha', 'a');
    await completePhase(client, 1, ['alpha']);
    const text = await readDocument(m, ...sessionDocument('phase_1_concept', 'alpha.md'));
    await editDocument(m, sessionDocument('phase_1_concept', 'alpha_old.md'), text);
    const outputs = await callOk<{ outputs: Record<string, Record<string, string>> }>(
      client,
      'get_phase_outputs',
      REF,
    );
    expect(outputs.outputs['1']).toEqual({ alpha: 'a', alpha_old: 'a' });
    const report = await callOk<Report>(client, 'validate_checkpoint', { ...REF, phase_num: 1 });
    expect(report.warnings).toEqual([
      expect.stringContaining(
        "p1/sessions/s1/phase_1_concept/alpha_old.md: says Agent alpha of phase 1, but get_phase_outputs and resume_session give it as agent alpha_old's output",
      ),
    ]);
  });

  it('validate_checkpoint of a phase never checkpointed finds no fault and says save_checkpoint writes it', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    const report = await callOk<Report>(client, 'validate_checkpoint', { ...REF, phase_num: 2 });
    expect(report).toEqual({
      is_valid: true,
      errors: [],
      warnings: [expect.stringContaining('save_checkpoint')],
    });
  });

  it('validate_checkpoint rejects bad arguments, missing sessions and phases outside the mode', async () => {
    const { client } = await connectedClient();
    await createSession(client);
    await expectToolError(client, 'validate_checkpoint', { ...REF, phase_num: 100 }, 'INVALID_ARGUMENT');
    await expectToolError(client, 'validate_checkpoint', { ...REF, phase_num: '1' }, 'INVALID_ARGUMENT');
    await expectToolError(
      client,
      'validate_checkpoint',
      { ...REF, session_id: 'x', phase_num: 1 },
      'NOT_FOUND',
    );
    await expectToolError(client, 'validate_checkpoint', { ...REF, phase_num: 4 }, 'PHASE_NOT_IN_MODE');
    expect(
      await expectToolError(client, 'validate_checkpoint', { ...REF, phase_num: 8 }, 'PHASE_NOT_IN_MODE'),
    ).toBe(
      'PHASE_NOT_IN_MODE: phase_num 8 is not part of this idea_validation session (mode mvp); its phases are 1, 2, 3, 6, 7',
    );
  });
});

describe('validate_session', () => {
  it('validate_session reports every phase of the mode and the manifest in one result', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await completePhase(client, 1, []);
    await corrupt(m, sessionDocument('phase_2_market_research', 'checkpoint.md'));
    const report = await callOk<Report & { phases: Record<string, Report> }>(client, 'validate_session', REF);
    expect(Object.keys(report.phases)).toEqual(['1', '2', '3', '6', '7']);
    expect(report.phases['1']).toEqual({ is_valid: true, errors: [], warnings: [] });
    expect(report.phases['2']?.is_valid).toBe(false);
    expect(report.phases['3']).toEqual({ is_valid: true, errors: [], warnings: [] });
    expect(report.is_valid).toBe(false);
  });

  it('validate_session reports a deleted manifest as an error', async () => {
    const m = await connectedClient();
    const { client } = m;
    await createSession(client);
    await removeDocument(m, ...sessionDocument('session_manifest.md'));
    const report = await callOk<Report>(client, 'validate_session', REF);
    expect(report.is_valid).toBe(false);
    expect(report.errors).toEqual([expect.stringContaining('session_manifest.md')]);
  });

  it('validate_session of a missing session is NOT_FOUND and of a path id INVALID_ARGUMENT', async () => {
    const { client } = await connectedClient();
    await expectToolError(client, 'validate_session', REF, 'NOT_FOUND');
    await expectToolError(
      client,
      'validate_session',
      { project_id: '..', session_id: 's1' },
      'INVALID_ARGUMENT',
    );
  });
});
