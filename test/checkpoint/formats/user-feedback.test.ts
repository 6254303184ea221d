import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  parseUserFeedback,
  renderUserFeedback,
  type UserFeedbackRecord,
} from '../../../src/checkpoint/formats/user-feedback.js';
import { markdownText, PROPERTY_TIMEOUT, RUNS, userFeedbackRecord } from '../../helpers/arbitraries.js';
import { thrown } from '../../helpers/errors.js';

const FILE = 'p/sessions/s/phase_1_concept/user_feedback.md';

const feedback: UserFeedbackRecord = {
  phase_name: 'Concept Expansion',
  reviewed: true,
  approved: false,
  timestamp: '2024-11-24T10:10:00.000Z',
  requested_changes: ['Focus on small restaurants', 'Change 2: keep the numbering text'],
  action: 'retry_with_changes',
  retry_count: 1,
  comments: 'Close, but:\n\n## Review Status\n- Approved: true\n\n',
};

function withLine(text: string, from: string, to: string): string {
  expect(text).toContain(from);
  return text.replace(from, to);
}

describe('user_feedback.md', () => {
  it('renders the review, the requested changes and the action, then the comments verbatim', () => {
    expect(renderUserFeedback(feedback)).toMatchInlineSnapshot(`
      "# User Feedback: Concept Expansion

      ## Review Status

      - Reviewed: true
      - Approved: false
      - Timestamp: 2024-11-24T10:10:00.000Z

      ## Requested Changes

      - Change 1: Focus on small restaurants
      - Change 2: Change 2: keep the numbering text

      ## Action Taken

      - Action: retry_with_changes
      - Retry Count: 1

      ## User Comments

      Close, but:

      ## Review Status
      - Approved: true

      "
    `);
  });

  it('writes "No changes requested" for an empty list and reads it back as no changes', () => {
    const text = renderUserFeedback({ ...feedback, requested_changes: [], comments: '' });
    expect(text).toContain('## Requested Changes\n\n- No changes requested\n');
    expect(parseUserFeedback(text, FILE)).toStrictEqual({ ...feedback, requested_changes: [], comments: '' });
  });

  it('reads back exactly what it rendered', () => {
    expect(parseUserFeedback(renderUserFeedback(feedback), FILE)).toStrictEqual(feedback);
  });

  it('reads a hand-edited file: other bullets, spacing, key case, unknown keys and sections, CRLF head', () => {
    const head = [
      '# User Feedback: Concept Expansion',
      '',
      '## review status',
      '* REVIEWED: True',
      '* approved :  false',
      '* Timestamp: 2024-11-24T10:10:00.000Z',
      '* Reviewer: dana',
      '',
      '## Requested Changes',
      '+ Change 1: Focus on small restaurants',
      '+ change  2 : Change 2: keep the numbering text',
      '',
      '## Context',
      '',
      'Written on a train.',
      '',
      '## Action Taken',
      '- Action: Retry_With_Changes',
      '- Retry Count: 1',
      '',
      '## User Comments',
      '',
    ].join('\r\n');
    expect(parseUserFeedback(`${head}${feedback.comments}`, FILE)).toStrictEqual(feedback);
  });

  it('reads changes a person typed as plain lines, one a line, as the bullets they mean', () => {
    const typed = { ...feedback, requested_changes: ['Focus on small restaurants', 'Cite sources'] };
    const rendered = renderUserFeedback(typed);
    const bullets = '- Change 1: Focus on small restaurants\n- Change 2: Cite sources\n';
    const plain = withLine(rendered, bullets, 'Focus on small restaurants\nCite sources\n');
    expect(parseUserFeedback(plain, FILE)).toStrictEqual(typed);
    const mixed = withLine(rendered, bullets, `${bullets}\nAlso check the numbers.\n`);
    expect(parseUserFeedback(mixed, FILE).requested_changes).toStrictEqual([
      ...typed.requested_changes,
      'Also check the numbers.',
    ]);
  });

  it('keeps comments with CRLF and lone CR line ends exact', () => {
    const comments = 'line one\r\nline two\rline three\r\n\r\n';
    const text = renderUserFeedback({ ...feedback, comments });
    expect(text.endsWith(`## User Comments\n\n${comments}`)).toBe(true);
    expect(parseUserFeedback(text, FILE).comments).toBe(comments);
  });

  it('rejects an Approved value that is not true or false as CORRUPT_FILE naming the file and line', () => {
    const text = withLine(renderUserFeedback(feedback), '- Approved: false', '- Approved: yes');
    expect(thrown(() => parseUserFeedback(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringMatching(
        /^p\/sessions\/s\/phase_1_concept\/user_feedback\.md:6: "Approved" is "yes", expected true or false/,
      ),
    });
  });

  it('rejects an action outside the vocabulary as CORRUPT_FILE at its line', () => {
    const text = withLine(renderUserFeedback(feedback), '- Action: retry_with_changes', '- Action: approve');
    expect(thrown(() => parseUserFeedback(text, FILE)).message).toContain(
      'user_feedback.md:16: "Action" is "approve", expected one of approved, retry_with_changes, skip_phase',
    );
  });

  it('rejects a retry count that is not a whole number as CORRUPT_FILE', () => {
    const text = withLine(renderUserFeedback(feedback), '- Retry Count: 1', '- Retry Count: once');
    expect(thrown(() => parseUserFeedback(text, FILE)).message).toContain(
      'user_feedback.md:17: "Retry Count" is "once", expected a whole number >= 0',
    );
  });

  it('rejects a file without the Review Status section as CORRUPT_FILE', () => {
    const text = withLine(
      renderUserFeedback(feedback),
      '## Review Status\n\n- Reviewed',
      '## Review\n\n- Reviewed',
    );
    expect(thrown(() => parseUserFeedback(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('user_feedback.md:1: missing section "## Review Status"'),
    });
  });

  it('rejects a file without "## User Comments" as CORRUPT_FILE', () => {
    const text = withLine(renderUserFeedback(feedback), '## User Comments\n', '## Comments\n');
    expect(thrown(() => parseUserFeedback(text, FILE))).toMatchObject({
      code: 'CORRUPT_FILE',
      message: expect.stringContaining('user_feedback.md:1: missing section "## User Comments"'),
    });
  });

  it(
    'round-trips every review: parse(render(x)) equals x',
    () => {
      fc.assert(
        fc.property(userFeedbackRecord, (record) => {
          expect(parseUserFeedback(renderUserFeedback(record), FILE)).toStrictEqual(record);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );

  it(
    'keeps comments shaped like markdown structure byte for byte, and never reads them as the review',
    () => {
      fc.assert(
        fc.property(markdownText, (comments) => {
          const parsed = parseUserFeedback(renderUserFeedback({ ...feedback, comments }), FILE);
          expect(parsed.comments).toBe(comments);
          expect(parsed.approved).toBe(false);
        }),
        RUNS,
      );
    },
    PROPERTY_TIMEOUT,
  );
});
