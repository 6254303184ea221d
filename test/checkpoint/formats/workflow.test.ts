import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWorkflow, renderWorkflow } from '../../../src/checkpoint/formats/workflow.js';
import {
  IDEA_VALIDATION,
  type WorkflowDefinition,
  workflowProblem,
} from '../../../src/checkpoint/model/workflows.js';
import { thrown } from '../../helpers/errors.js';
import { CODE_REVIEW as CODE_REVIEW_ARGUMENTS } from '../../helpers/workflows.js';

const FILE = 'workflows/code_review.md';

const CODE_REVIEW: WorkflowDefinition = { ...CODE_REVIEW_ARGUMENTS, revision: 2 };

describe('workflows/{workflow_type}.md', () => {
  it('renders metadata, the phase table and the mode table', () => {
    expect(renderWorkflow(CODE_REVIEW)).toMatchInlineSnapshot(`
      "# Workflow: Code review

      ## Metadata

      - Workflow Type: code_review
      - Title: Code review
      - Default Mode: quick
      - Revision: 2

      ## Phases

      | Phase | Name            | Folder      |
      | ----- | --------------- | ----------- |
      | 1     | Read the change | read        |
      | 2     | Deep review     | deep_review |
      | 3     | Verdict         | verdict     |

      ## Modes

      | Mode  | Phases  |
      | ----- | ------- |
      | quick | 1, 3    |
      | deep  | 1, 2, 3 |
      "
    `);
  });

  it('reads back exactly what it rendered, the built-in workflow too', () => {
    expect(parseWorkflow(renderWorkflow(CODE_REVIEW), FILE)).toStrictEqual(CODE_REVIEW);
    expect(parseWorkflow(renderWorkflow(IDEA_VALIDATION), FILE)).toStrictEqual(IDEA_VALIDATION);
  });

  it('reads a hand-edited file: other bullets, key case, columns in another order, CRLF', () => {
    const text = [
      '# Workflow: Code review',
      '',
      '## metadata',
      '* workflow type: code_review',
      '+ TITLE: Code review',
      '- Default Mode:   quick',
      '- Revision: 3',
      '',
      '## Phases',
      '',
      '| Folder | Phase | Name |',
      '|---|---|---|',
      '| read | 1 | Read the change |',
      '| verdict | 3 | Verdict |',
      '',
      '## Modes',
      '',
      '| Phases | Mode |',
      '|---|---|',
      '| 1,3 | quick |',
      '',
    ].join('\r\n');
    expect(parseWorkflow(text, FILE)).toStrictEqual({
      workflow_type: 'code_review',
      title: 'Code review',
      default_mode: 'quick',
      revision: 3,
      phases: [
        { num: 1, name: 'Read the change', folder: 'read' },
        { num: 3, name: 'Verdict', folder: 'verdict' },
      ],
      modes: [{ name: 'quick', phases: [1, 3] }],
    });
  });

  it('names the file and line of what it cannot understand', () => {
    const text = renderWorkflow(CODE_REVIEW).replace('| 2     | Deep review', '| two   | Deep review');
    expect(thrown(() => parseWorkflow(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(/^workflows\/code_review\.md:15: phase number "two" is not 1 to 99/),
    });
    const noModes = renderWorkflow(CODE_REVIEW).replace('## Modes', '## Ways');
    expect(thrown(() => parseWorkflow(noModes, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('missing section "## Modes"'),
    });
  });

  it('round-trips every valid definition: parse(render(x)) equals x', () => {
    const slug = fc.stringMatching(/^[a-z0-9_]{1,12}$/);
    const name = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9 ,.'()&:!?*_`-]{0,30}[A-Za-z0-9.)]$/);
    const definition = fc
      .uniqueArray(fc.integer({ min: 1, max: 99 }), { minLength: 1, maxLength: 8 })
      .chain((nums) =>
        fc.record(
          {
            workflow_type: fc.stringMatching(/^[a-z][a-z0-9_]{0,20}$/),
            title: name,
            phases: fc
              .uniqueArray(slug, { minLength: nums.length, maxLength: nums.length })
              .chain((folders) =>
                fc.tuple(
                  ...nums.map((num, i) =>
                    name.map((phaseName) => ({ num, name: phaseName, folder: folders[i] as string })),
                  ),
                ),
              ),
            modes: fc.uniqueArray(
              fc.record(
                {
                  name: fc.stringMatching(/^[a-z][a-z0-9_-]{0,10}$/),
                  phases: fc.subarray(
                    [...nums].sort((a, b) => a - b),
                    { minLength: 1 },
                  ),
                },
                { noNullPrototype: true },
              ),
              { minLength: 1, maxLength: 3, selector: (mode) => mode.name },
            ),
            revision: fc.integer({ min: 1, max: 1000 }),
          },
          { noNullPrototype: true },
        ),
      )
      .map((d): WorkflowDefinition => ({ ...d, default_mode: d.modes[0]?.name ?? 'x' }))
      .filter((d) => workflowProblem(d) === undefined);
    fc.assert(
      fc.property(definition, (d) => {
        expect(parseWorkflow(renderWorkflow(d), FILE)).toStrictEqual(d);
      }),
      { numRuns: 300 },
    );
  });
});
