import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type ManifestRecord,
  parseManifest,
  renderManifest,
} from '../../../src/checkpoint/formats/manifest.js';
import { manifestRecord, PROPERTY_TIMEOUT, RUNS } from '../../helpers/arbitraries.js';
import { thrown } from '../../helpers/errors.js';

const FILE = 'project-123/sessions/session-456/session_manifest.md';

const manifest: ManifestRecord = {
  session_id: 'session-456',
  project_id: 'project-123',
  user_id: 'user-789',
  workflow_type: 'idea_validation',
  execution_mode: 'mvp',
  created: '2024-11-24T10:00:00.000Z',
  last_updated: '2024-11-24T10:03:00.000Z',
  status: 'in_progress',
  revision: 3,
  phases: [
    {
      phase_num: 1,
      name: 'Concept Expansion',
      status: 'completed',
      started: '2024-11-24T10:00:00Z',
      completed: '2024-11-24T10:02:00Z',
      duration: 120.5,
    },
    { phase_num: 2, name: 'Market Research', status: 'in_progress', started: '2024-11-24T10:03:00Z' },
    { phase_num: 3, name: 'Niche Selection', status: 'pending' },
    { phase_num: 6, name: 'Validation', status: 'pending' },
    { phase_num: 7, name: 'Final Synthesis', status: 'pending' },
  ],
  current_phase: { phase: 2, name: 'Market Research', status: 'in_progress', can_resume: true },
  metrics: { total_duration: 120.5, total_tokens: 3500, total_cost: '0.0375' },
};

function withLine(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('session_manifest.md', () => {
  it('renders metadata, the phase table of the mode, the current phase and the metrics', () => {
    expect(renderManifest(manifest)).toMatchInlineSnapshot(`
      "# Session Manifest

      ## Metadata

      - Session ID: session-456
      - Project ID: project-123
      - User ID: user-789
      - Workflow Type: idea_validation
      - Execution Mode: mvp
      - Created: 2024-11-24T10:00:00.000Z
      - Last Updated: 2024-11-24T10:03:00.000Z
      - Status: in_progress
      - Revision: 3

      ## Phase Status

      | Phase | Name              | Status      | Started              | Completed            | Duration |
      | ----- | ----------------- | ----------- | -------------------- | -------------------- | -------- |
      | 1     | Concept Expansion | completed   | 2024-11-24T10:00:00Z | 2024-11-24T10:02:00Z | 120.5s   |
      | 2     | Market Research   | in_progress | 2024-11-24T10:03:00Z | -                    | -        |
      | 3     | Niche Selection   | pending     | -                    | -                    | -        |
      | 6     | Validation        | pending     | -                    | -                    | -        |
      | 7     | Final Synthesis   | pending     | -                    | -                    | -        |

      ## Current Phase

      - Phase: 2
      - Name: Market Research
      - Status: in_progress
      - Can Resume: true

      ## Metrics

      - Total Duration: 120.5s
      - Total Tokens: 3500
      - Total Cost: $0.0375
      "
    `);
  });

  it('reads back exactly what it rendered', () => {
    expect(parseManifest(renderManifest(manifest), FILE)).toStrictEqual(manifest);
  });

  it('reads a hand-edited file: other bullets, spacing, key case, reordered columns, unknown sections, CRLF', () => {
    const text = [
      '# Session Manifest',
      '',
      '## metadata',
      '+ session id:   session-456',
      '+ PROJECT ID: project-123',
      '+ User ID: user-789',
      '+ Workflow Type: idea_validation',
      '+ Execution Mode: mvp',
      '+ Created: 2024-11-24T10:00:00.000Z',
      '+ Last  Updated: 2024-11-24T10:03:00.000Z',
      '+ Status: In_Progress',
      '+ Revision: 3',
      '+ Edited By: a human',
      '',
      '## Phase Status',
      '',
      '| Status | Phase | Name | Started | Completed | Duration | Notes |',
      '|:--|--|--|--|--|--|--|',
      '|  completed | 1 | Concept Expansion | 2024-11-24T10:00:00Z | 2024-11-24T10:02:00Z | 120.5s | good |',
      '| in_progress | 2 | Market Research | 2024-11-24T10:03:00Z | - | - | |',
      '| pending | 3 | Niche Selection | - | - | - | |',
      '| pending | 6 | Validation | | | | |',
      '| PENDING | 7 | Final Synthesis | - | - | - | |',
      '',
      '## Reviewer Notes',
      '',
      'Looks fine.',
      '',
      '## Current Phase',
      '* Phase: 2',
      '* Name: Market Research',
      '* Status: in_progress',
      '* Can Resume: TRUE',
      '',
      '## Metrics',
      '*   Total Duration  :  120.5s',
      '* Total Tokens: 3500',
      '* Total Cost: $0.0375',
      '',
    ].join('\r\n');
    expect(parseManifest(text, FILE)).toStrictEqual(manifest);
  });

  it('reads a Total Cost edited by hand without "$" or with trailing zeros as exact decimal text', () => {
    for (const [value, cost] of [
      ['0.0500', '0.05'],
      ['$.5', '0.5'],
      ['1e-3', '0.001'],
    ]) {
      const text = withLine(renderManifest(manifest), '- Total Cost: $0.0375', `- Total Cost: ${value}`);
      expect(parseManifest(text, FILE).metrics.total_cost).toBe(cost);
    }
  });

  it('rejects a phase status outside the vocabulary as CORRUPT_FILE at the row', () => {
    const text = withLine(
      renderManifest(manifest),
      '| 3     | Niche Selection   | pending',
      '| 3 | Niche Selection | paused',
    );
    expect(thrown(() => parseManifest(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^project-123\/sessions\/session-456\/session_manifest\.md:21: phase status "paused" is not one of pending, in_progress/,
      ),
    });
  });

  it('rejects a revision that is not a number as CORRUPT_FILE at its line', () => {
    const text = withLine(renderManifest(manifest), '- Revision: 3', '- Revision: three');
    expect(thrown(() => parseManifest(text, FILE)).message).toMatch(
      /^project-123\/sessions\/session-456\/session_manifest\.md:13: "Revision" is "three", expected a whole number >= 0/,
    );
  });

  it('rejects total tokens written with a unit or as a fraction as CORRUPT_FILE', () => {
    for (const tokens of ['3.5k', '12.5', '-3', '']) {
      const text = withLine(renderManifest(manifest), '- Total Tokens: 3500', `- Total Tokens: ${tokens}`);
      expect(thrown(() => parseManifest(text, FILE))).toMatchObject({
        code: 'CORRUPT_FILE',
        message: expect.stringContaining('session_manifest.md:35: "Total Tokens"'),
      });
    }
  });

  it('rejects a cost that is not dollars as CORRUPT_FILE', () => {
    const text = withLine(renderManifest(manifest), '- Total Cost: $0.0375', '- Total Cost: cheap');
    expect(thrown(() => parseManifest(text, FILE)).message).toContain(
      'session_manifest.md:36: "Total Cost" is "cheap", expected dollars such as $0.0375',
    );
  });

  it('rejects a phase table without a Status column as CORRUPT_FILE', () => {
    const text = withLine(renderManifest(manifest), '| Status      |', '| State       |');
    expect(thrown(() => parseManifest(text, FILE)).message).toContain('phase table has no "Status" column');
  });

  it('rejects a row whose phase number is not a phase as CORRUPT_FILE at the row', () => {
    const text = withLine(renderManifest(manifest), '| 6     |', '| 9     |');
    expect(thrown(() => parseManifest(text, FILE)).message).toMatch(
      /session_manifest\.md:22: phase number "9" is not 1 to 7/,
    );
  });

  it('rejects a duration cell that is not seconds as CORRUPT_FILE at the row', () => {
    const text = withLine(renderManifest(manifest), '120.5s   |', 'long     |');
    expect(thrown(() => parseManifest(text, FILE)).message).toMatch(
      /session_manifest\.md:19: duration "long" is not seconds such as 120\.5s/,
    );
  });

  it('rejects a current phase above 99 as CORRUPT_FILE', () => {
    const text = withLine(renderManifest(manifest), '- Phase: 2', '- Phase: 100');
    expect(thrown(() => parseManifest(text, FILE)).message).toContain(
      'session_manifest.md:27: "Phase" is "100", expected a phase number from 0 to 99',
    );
  });

  it('rejects a file without the Phase Status section as CORRUPT_FILE', () => {
    const text = withLine(renderManifest(manifest), '## Phase Status', '## Phases');
    expect(thrown(() => parseManifest(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('session_manifest.md:1: missing section "## Phase Status"'),
    });
  });

  it(
    'round-trips every manifest: parse(render(x)) equals x',
    () => {
      fc.assert(
        fc.property(manifestRecord, (record) => {
          expect(parseManifest(renderManifest(record), FILE)).toStrictEqual(record);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
