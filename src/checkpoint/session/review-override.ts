import type { CheckpointRecord } from '../formats/checkpoint.js';
import { parseUserFeedback } from '../formats/user-feedback.js';
import { CheckpointError } from '../model/errors.js';
import { checkpointFile, feedbackFile, type SessionRef } from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import type { FeedbackAction, PhaseStatus } from '../model/vocabulary.js';
import type { Engine } from '../store/engine.js';

/** The phase status a review's action sets; approved leaves it alone. */
export function statusOfAction(action: FeedbackAction): PhaseStatus | undefined {
  return action === 'retry_with_changes' ? 'requires_retry' : action === 'skip_phase' ? 'skipped' : undefined;
}

export interface ReviewOverride {
  action: FeedbackAction;
  status: PhaseStatus;
  retry_count: number;
  /** When the review was written: the file's modification time. */
  updated: string;
}

/**
 * A review edited by hand after the checkpoint was written (its file is newer) whose action sets
 * another status: the review is the later word on the phase. save_user_feedback writes the checkpoint
 * after the review, so only a review changed later, by a person, ever overrides.
 */
export async function reviewOverride(
  store: Engine,
  ref: SessionRef,
  phase: PhaseDefinition,
  checkpoint: CheckpointRecord,
  /** The modification times of the review and the checkpoint, when the caller has them already. */
  known?: { reviewed: number | undefined; written: number | undefined },
): Promise<ReviewOverride | undefined> {
  const reviewRel = feedbackFile(ref, phase);
  // A link planted at the review's name is as unreadable as a review scribbled over.
  const reviewed = known ? known.reviewed : await store.modifiedMs(reviewRel).catch(unreadable);
  if (reviewed === undefined) return undefined;
  const written = known ? known.written : await store.modifiedMs(checkpointFile(ref, phase));
  if (written !== undefined && reviewed <= written) return undefined;
  const review = await store.parsed.read(reviewRel, parseUserFeedback).catch(unreadable);
  const status = review && statusOfAction(review.action);
  if (!review || status === undefined) return undefined;
  if (status === checkpoint.status && review.retry_count === checkpoint.retry_count) return undefined;
  return {
    action: review.action,
    status,
    retry_count: review.retry_count,
    updated: new Date(reviewed).toISOString(),
  };
}

/** The checkpoint as the later review has it. */
export function applyReview(checkpoint: CheckpointRecord, override: ReviewOverride): CheckpointRecord {
  return {
    ...checkpoint,
    status: override.status,
    retry_count: override.retry_count,
    updated: override.updated,
  };
}

/** A review that cannot be read overrides nothing: the checkpoint stands, and validation names the file. */
function unreadable(error: unknown): undefined {
  if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') return undefined;
  throw error;
}
