import { FEEDBACK_ACTIONS, type FeedbackAction } from '../model/vocabulary.js';
import { HeadReader } from './fields.js';
import {
  bulletList,
  heading,
  itemsOrLines,
  keyValueList,
  missingVerbatim,
  parseHead,
  renderDocument,
  splitVerbatim,
} from './markdown.js';

export interface UserFeedbackRecord {
  phase_name: string;
  reviewed: boolean;
  approved: boolean;
  timestamp: string;
  requested_changes: string[];
  action: FeedbackAction;
  retry_count: number;
  comments: string;
}

const COMMENTS = 'User Comments';
const NO_CHANGES = 'No changes requested';
const CHANGE_ITEM = /^change\s*\d+\s*:\s*/i;

export function renderUserFeedback(feedback: UserFeedbackRecord): string {
  const changes = feedback.requested_changes.map((change, i) => `Change ${i + 1}: ${change}`);
  return renderDocument(
    [
      heading(1, `User Feedback: ${feedback.phase_name}`),
      heading(2, 'Review Status'),
      keyValueList([
        ['Reviewed', String(feedback.reviewed)],
        ['Approved', String(feedback.approved)],
        ['Timestamp', feedback.timestamp],
      ]),
      heading(2, 'Requested Changes'),
      bulletList(changes.length > 0 ? changes : [NO_CHANGES]),
      heading(2, 'Action Taken'),
      keyValueList([
        ['Action', feedback.action],
        ['Retry Count', String(feedback.retry_count)],
      ]),
    ],
    { heading: COMMENTS, body: feedback.comments },
  );
}

export function parseUserFeedback(text: string, file: string): UserFeedbackRecord {
  const { head, body } = splitVerbatim(text, COMMENTS);
  if (body === undefined) throw missingVerbatim(file, text, COMMENTS);
  const parsed = parseHead(head);
  const reader = new HeadReader(file, parsed);
  const review = reader.fields('Review Status');
  const action = reader.fields('Action Taken');
  const changesSection = reader.optionalSection('Requested Changes');
  // A person may type the changes as plain lines: each line is one, as each bullet is.
  const requested = (changesSection ? itemsOrLines(changesSection) : [])
    .map((item) => item.text)
    .filter((text) => text.toLowerCase() !== NO_CHANGES.toLowerCase())
    .map((text) => text.replace(CHANGE_ITEM, ''));
  const title = parsed.title ?? '';
  return {
    phase_name: title.replace(/^user feedback:\s*/i, ''),
    reviewed: review.boolean('Reviewed'),
    approved: review.boolean('Approved'),
    timestamp: review.timestamp('Timestamp'),
    requested_changes: requested,
    action: action.oneOf('Action', FEEDBACK_ACTIONS),
    retry_count: action.integer('Retry Count'),
    comments: body,
  };
}
