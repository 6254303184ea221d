import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ProjectRecord, parseProject, renderProject } from '../../../src/checkpoint/formats/project.js';
import { markdownText, PROPERTY_TIMEOUT, projectRecord, RUNS } from '../../helpers/arbitraries.js';
import { thrown } from '../../helpers/errors.js';

const FILE = 'ai-recipe-planner/project.md';

const project: ProjectRecord = {
  project_id: 'ai-recipe-planner',
  project_name: 'AI Recipe Planner',
  user_id: 'user-42',
  workflow_type: 'idea_validation',
  execution_mode: 'mvp',
  status: 'active',
  created: '2024-11-24T10:00:00.000Z',
  updated: '2024-11-24T10:05:00.000Z',
  startup_idea: 'Plan a week of meals from what is in the fridge.\n\n## Output\n\nstays plain text.\n',
};

describe('project.md', () => {
  it('renders the metadata list, then the startup idea verbatim as the last section', () => {
    expect(renderProject(project)).toMatchInlineSnapshot(`
      "# Project: AI Recipe Planner

      ## Metadata

      - Project ID: ai-recipe-planner
      - Project Name: AI Recipe Planner
      - User ID: user-42
      - Execution Mode: mvp
      - Status: active
      - Created: 2024-11-24T10:00:00.000Z
      - Updated: 2024-11-24T10:05:00.000Z

      ## Startup Idea

      Plan a week of meals from what is in the fridge.

      ## Output

      stays plain text.
      "
    `);
  });

  it('reads back exactly what it rendered', () => {
    expect(parseProject(renderProject(project), FILE)).toStrictEqual(project);
  });

  it('reads a hand-edited file: other bullets, spacing and indentation, key case, unknown keys and sections, CRLF head', () => {
    const text = [
      '# Project: renamed by hand',
      '',
      '## Notes',
      '',
      '- Reviewer: alice',
      '',
      '##   METADATA',
      '',
      '*   project id  :   ai-recipe-planner',
      '+ PROJECT NAME: AI Recipe Planner',
      '* User Id: user-42',
      '* Execution Mode: MVP',
      '* workflow type: IDEA_VALIDATION',
      '* Favourite Colour: green',
      '   * status: Archived',
      '* Created: 2024-11-24T10:00:00.000Z',
      '* Updated: 2024-11-24T10:05:00Z',
      '',
      '## Startup Idea',
      '',
    ].join('\r\n');
    expect(parseProject(`${text}  an idea\r\nkept with CRLF \r\n`, FILE)).toStrictEqual({
      ...project,
      status: 'archived',
      updated: '2024-11-24T10:05:00Z',
      startup_idea: '  an idea\r\nkept with CRLF \r\n',
    });
  });

  it('rejects a status outside active and archived as CORRUPT_FILE naming the file and line', () => {
    const text = renderProject(project).replace('- Status: active', '- Status: paused');
    const error = thrown(() => parseProject(text, FILE));
    expect(error.code).toBe('CORRUPT_FILE');
    expect(error.message).toMatch(
      /^ai-recipe-planner\/project\.md:9: "Status" is "paused", expected one of active, archived/,
    );
  });

  it('rejects a file without the Startup Idea section as CORRUPT_FILE', () => {
    const text = renderProject(project).replace('## Startup Idea', '## Idea');
    expect(thrown(() => parseProject(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(/^ai-recipe-planner\/project\.md:1: missing section "## Startup Idea"/),
    });
  });

  it('rejects a file without the Metadata section as CORRUPT_FILE', () => {
    const text = renderProject(project).replace('## Metadata', '## Details');
    expect(thrown(() => parseProject(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('missing section "## Metadata"'),
    });
  });

  it('rejects a missing key as CORRUPT_FILE at the line of its section', () => {
    const text = renderProject(project).replace('- User ID: user-42\n', '');
    expect(thrown(() => parseProject(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^ai-recipe-planner\/project\.md:3: section "## Metadata" has no "- User ID:" item/,
      ),
    });
  });

  it('rejects a time that is not RFC 3339 as CORRUPT_FILE', () => {
    const text = renderProject(project).replace(
      '- Created: 2024-11-24T10:00:00.000Z',
      '- Created: yesterday',
    );
    expect(thrown(() => parseProject(text, FILE)).message).toMatch(
      /^ai-recipe-planner\/project\.md:10: "Created" is "yesterday", expected an RFC 3339 timestamp/,
    );
  });

  it(
    'round-trips every project: parse(render(x)) equals x',
    () => {
      fc.assert(
        fc.property(projectRecord, (record) => {
          expect(parseProject(renderProject(record), FILE)).toStrictEqual(record);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'keeps a startup idea shaped like markdown structure byte for byte',
    () => {
      fc.assert(
        fc.property(markdownText, (idea) => {
          expect(parseProject(renderProject({ ...project, startup_idea: idea }), FILE).startup_idea).toBe(
            idea,
          );
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
