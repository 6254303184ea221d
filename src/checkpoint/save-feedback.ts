import type { CheckpointRecord } from './formats/checkpoint.js';
import { renderCheckpoint } from './formats/checkpoint.js';
import { parseUserFeedback, renderUserFeedback } from './formats/user-feedback.js';
import { type ManagerContext, sessionRef } from './manager-context.js';
import { checkpointFile, feedbackFile, type SessionRef } from './model/paths.js';
import { phaseIn } from './model/phases.js';
import type { FeedbackAction, PhaseStatus } from './model/vocabulary.js';
import { emptyCheckpoint } from './save-checkpoint.js';
import { validateFeedback } from './session/request-checks.js';
import type { SaveUserFeedbackRequest } from './session/requests.js';
import { statusOfAction } from './session/review-override.js';

/** A human review in user_feedback.md; its action sets the phase status, and the manifest follows. */
export async function saveUserFeedback(
  ctx: ManagerContext,
  request: SaveUserFeedbackRequest,
): Promise<{ phase_num: number; action: FeedbackAction; phase_status: PhaseStatus }> {
  const ref = sessionRef(request);
  const checked = validateFeedback(request, ctx.limits);
  const action = request.action ?? 'approved';
  return ctx.files.withSessionLock(ref, async (lock) => {
    const { plan, stored } = await ctx.files.manifestUnderLock(ref);
    const phase = phaseIn(plan, request.phase_num);
    // The manifest is rebuilt from every checkpoint: one that cannot be read fails the save before any write.
    const checkpoints = await ctx.files.readCheckpoints(ref, plan);
    const replacesStale = ctx.files.manifestStale(stored, checkpoints);
    const checkpoint = checkpoints.get(phase.num);
    // A review edited by hand since may have set the status: the file is brought in line with it.
    const written = await ctx.files.readCheckpointFile(ref, phase);
    const retryCount =
      request.retry_count ?? (checkpoint?.retry_count ?? 0) + (action === 'retry_with_changes' ? 1 : 0);
    const status: PhaseStatus | undefined = statusOfAction(action) ?? checkpoint?.status;
    await ctx.store.write(
      feedbackFile(ref, phase),
      renderUserFeedback({
        phase_name: phase.name,
        reviewed: request.reviewed,
        approved: request.approved,
        timestamp: ctx.clock().toISOString(),
        requested_changes: checked.requested_changes,
        action,
        retry_count: retryCount,
        comments: request.comments ?? '',
      }),
      // A phase folder deleted by hand is made again.
      { keepHistory: true, createFolder: true, lock, batched: true },
    );
    if (status !== undefined && (status !== written?.status || retryCount !== written.retry_count)) {
      const updated: CheckpointRecord = {
        ...(written ?? emptyCheckpoint(ctx, phase, plan)),
        status,
        retry_count: retryCount,
        updated: ctx.clock().toISOString(),
      };
      // A hand-edited file may give the next phase's number alone: its name comes from the session.
      if (updated.next_phase !== undefined && updated.next_phase_name === undefined) {
        const name = plan.phases.find((candidate) => candidate.num === updated.next_phase)?.name;
        if (name !== undefined) updated.next_phase_name = name;
      }
      await ctx.store.write(checkpointFile(ref, phase), renderCheckpoint(updated), {
        keepHistory: true,
        lock,
        parsed: updated,
        batched: true,
      });
    }
    await ctx.files.commit(ref, lock, { replacesStale, ...(stored && { stored }) });
    return { phase_num: phase.num, action, phase_status: status ?? 'pending' };
  });
}

export async function getApprovedPhases(ctx: ManagerContext, ref: SessionRef): Promise<{ phases: number[] }> {
  sessionRef(ref);
  await ctx.files.assertExists(ref);
  const phases: number[] = [];
  for (const phase of (await ctx.planOf(ref)).phases) {
    const rel = feedbackFile(ref, phase);
    const text = await ctx.store.read(rel);
    if (text !== undefined && parseUserFeedback(text, ctx.store.label(rel)).approved) phases.push(phase.num);
  }
  return { phases };
}
