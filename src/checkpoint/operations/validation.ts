import { agentOutputFile, type CheckpointRecord, parseCheckpoint } from '../formats/checkpoint.js';
import { type ManifestRecord, parseManifest } from '../formats/manifest.js';
import { parseUserFeedback } from '../formats/user-feedback.js';
import { sha256 } from '../model/digest.js';
import { CheckpointError } from '../model/errors.js';
import { checkpointFile, feedbackFile, manifestFile, phaseDir, type SessionRef } from '../model/paths.js';
import type { PhaseDefinition } from '../model/phases.js';
import { inOrder, readAgentOutputFile, unreadableOutputs } from '../session/outputs.js';
import { applyReview, reviewOverride } from '../session/review-override.js';
import type { SessionFiles } from '../session/session-files.js';
import { blankCheckpoint, buildManifest, identityOf, planOfManifest } from '../session/session-state.js';
import type { Engine } from '../store/engine.js';
import { uncountedEdits } from './uncounted-edits.js';

export interface ValidationReport {
  is_valid: boolean;
  errors: string[];
  warnings: string[];
}

export interface SessionValidationReport extends ValidationReport {
  phases: Record<string, ValidationReport>;
}

/** Checks one phase's files: structure, names, outputs and their hashes, and the manifest row. */
export async function validatePhase(
  store: Engine,
  ref: SessionRef,
  phase: PhaseDefinition,
  manifest: ManifestRecord | undefined,
  /** Whether a phase not saved yet is worth a warning (one phase asked about), or nothing (a session). */
  options: { required: boolean },
): Promise<ValidationReport> {
  const errors: string[] = [];
  const warnings: string[] = [];
  // An output get_phase_outputs and resume_session cannot read stops them, listed or not: named here
  // too. Those the checkpoint lists are read by checkOutputs, which names them.
  const listed = new Set<string>();
  const report = async () => {
    const outputs = await unreadableOutputs(store, ref, phase, listed, warnings);
    return finish([...errors, ...outputs.filter((message) => !errors.includes(message))], warnings);
  };
  const rel = checkpointFile(ref, phase);
  const label = store.label(rel);
  const checkpoint = await capture(errors, () => store.parsed.read(rel, parseCheckpoint));
  if (checkpoint === null) return report();
  if (checkpoint === undefined) {
    // A review written by hand for a phase with no checkpoint sets its status, as save_user_feedback would.
    const blank = blankCheckpoint(phase, undefined, new Date(0).toISOString());
    const review = await capture(errors, () =>
      store.parsed.read(feedbackFile(ref, phase), parseUserFeedback),
    );
    const override = review ? await reviewOverride(store, ref, phase, blank) : undefined;
    if (override) {
      warnings.push(
        `${store.label(feedbackFile(ref, phase))}: a review with no ${label}; its action ${override.action} makes the phase ${override.status} until save_checkpoint records phase ${phase.num}`,
      );
      if (manifest)
        checkManifestRow(store, ref, applyReview(blank, override), manifest, warnings, 'its review');
      return report();
    }
    // A phase not run yet has no checkpoint, and is no fault; one the manifest says has run lost its file.
    const row = manifest?.phases.find((found) => found.phase_num === phase.num);
    if (row !== undefined && row.status !== 'pending') {
      errors.push(
        `${label}: missing, though ${store.label(manifestFile(ref))} says phase ${phase.num} is ${row.status}; restore it from history/, or call save_checkpoint for phase ${phase.num}`,
      );
    } else if (options.required) {
      warnings.push(
        `${label}: not saved yet, phase ${phase.num} is pending; save_checkpoint for phase ${phase.num} writes it`,
      );
    }
    return report();
  }
  if (checkpoint.phase_num !== phase.num) {
    errors.push(
      `${label}: Phase Number is ${checkpoint.phase_num} but the directory ${phase.dir} holds phase ${phase.num}`,
    );
  }
  if (checkpoint.phase_name.toLowerCase() !== phase.name.toLowerCase()) {
    errors.push(
      `${label}: Phase Name is "${checkpoint.phase_name}" but phase ${phase.num} is "${phase.name}"`,
    );
  }
  if (checkpoint.status === 'completed' && checkpoint.completed === undefined) {
    warnings.push(`${label}: status is completed but Completed has no time`);
  }
  const text = await store.read(rel);
  if (text !== undefined) warnings.push(...uncountedEdits(text, label, checkpoint));
  for (const agent of checkpoint.agents) listed.add(agentOutputFile(agent));
  await checkOutputs(store, ref, phase, checkpoint, errors, warnings);
  await capture(errors, () => store.parsed.read(feedbackFile(ref, phase), parseUserFeedback));
  const override = await reviewOverride(store, ref, phase, checkpoint);
  if (override) {
    warnings.push(
      `${store.label(feedbackFile(ref, phase))}: edited after ${label}; its action ${override.action} makes the phase ${override.status} although checkpoint.md says ${checkpoint.status}. The review takes effect until save_checkpoint records the phase again`,
    );
  }
  const effective = override ? applyReview(checkpoint, override) : checkpoint;
  if (manifest) checkManifestRow(store, ref, effective, manifest, warnings);
  return report();
}

/** Every phase of the session plus the manifest, in one report. */
export async function validateSession(
  store: Engine,
  files: SessionFiles,
  ref: SessionRef,
): Promise<SessionValidationReport> {
  await files.assertExists(ref);
  const errors: string[] = [];
  const warnings: string[] = [];
  const rel = manifestFile(ref);
  const stored = await capture(errors, () => store.parsed.read(rel, parseManifest));
  if (stored === undefined)
    errors.push(`${store.label(rel)}: missing; load_session rebuilds it from the checkpoints`);
  const manifest = stored ?? undefined;
  const plan = manifest ? planOfManifest(manifest) : (await files.recoverIdentity(ref)).plan;
  const phases: Record<string, ValidationReport> = {};
  const nums = plan.phases.map((phase) => phase.num);
  const reports = await inOrder(
    plan.phases.map((phase) => validatePhase(store, ref, phase, manifest, { required: false })),
  );
  for (const [i, num] of nums.entries()) phases[String(num)] = reports[i] as ValidationReport;
  if (manifest) {
    const checkpoints = await files.readCheckpoints(ref, plan).catch(() => undefined);
    const derived =
      checkpoints &&
      buildManifest(identityOf(manifest), checkpoints, manifest.revision, manifest.last_updated);
    if (derived && derived.status !== manifest.status) {
      warnings.push(
        `${store.label(rel)}: Status is ${manifest.status} but the checkpoints make it ${derived.status}`,
      );
    }
    if (derived && JSON.stringify(derived.metrics) !== JSON.stringify(manifest.metrics)) {
      warnings.push(
        `${store.label(rel)}: Metrics differ from the sums of the checkpoints; load_session rebuilds them`,
      );
    }
  }
  const all = Object.values(phases);
  return {
    is_valid: errors.length === 0 && all.every((report) => report.is_valid),
    errors,
    warnings,
    phases,
  };
}

async function checkOutputs(
  store: Engine,
  ref: SessionRef,
  phase: PhaseDefinition,
  checkpoint: CheckpointRecord,
  errors: string[],
  warnings: string[],
): Promise<void> {
  let names: string[] | undefined;
  for (const agent of checkpoint.agents) {
    const file = agentOutputFile(agent);
    const rel = [...phaseDir(ref, phase), file];
    const label = store.label(rel);
    const output = await capture(errors, () => readAgentOutputFile(store, rel));
    if (output === null) continue;
    if (output === undefined) {
      // A name differing only in letter case: save_agent_output refuses this one, the checkpoint is what to fix.
      names ??= (await store.list(phaseDir(ref, phase))).map((entry) => entry.name);
      const twin = names.find((name) => name !== file && name.toLowerCase() === file.toLowerCase());
      // save_agent_output writes {agent_name}.md: an output_file naming another file is the checkpoint's to fix.
      const own = `${agent.agent_name}.md`;
      const advice =
        twin === undefined
          ? agent.output_file === undefined || agent.output_file === own
            ? 'call save_agent_output'
            : names.includes(own)
              ? `save_agent_output writes ${own}, which is there: call save_checkpoint without output_file for this agent`
              : `save_agent_output writes ${own}: call it, then save_checkpoint without output_file for this agent`
          : `${twin} differs from it only in letter case: call save_checkpoint with ${
              agent.output_file === undefined
                ? `the agent listed as "${twin.replace(/\.md$/, '')}"`
                : `output_file "${twin}"`
            }`;
      const message = `${label}: agent ${agent.agent_name} is listed as ${agent.status} but has no output file; ${advice}`;
      if (agent.status === 'completed') errors.push(message);
      else if (agent.status === 'failed') warnings.push(message);
      continue;
    }
    if (output.agent_name !== agent.agent_name) {
      errors.push(`${label}: Agent is "${output.agent_name}" but the checkpoint lists "${agent.agent_name}"`);
    }
    if (output.phase_num !== phase.num)
      errors.push(`${label}: Phase is ${output.phase_num} but the file is in phase ${phase.num}`);
    const sha = sha256(output.content, 'hex');
    if (sha !== output.sha256) {
      warnings.push(
        `${label}: content SHA-256 differs from the recorded one: the output was edited by hand or truncated`,
      );
    }
    if (output.status !== agent.status) {
      warnings.push(
        `${label}: Status is ${output.status} but the checkpoint lists agent ${agent.agent_name} as ${agent.status}`,
      );
    }
  }
}

function checkManifestRow(
  store: Engine,
  ref: SessionRef,
  checkpoint: CheckpointRecord,
  manifest: ManifestRecord,
  warnings: string[],
  /** What gives the phase's state: its review, for a phase with no checkpoint.md. */
  source = 'checkpoint.md',
): void {
  const label = store.label(manifestFile(ref));
  const row = manifest.phases.find((entry) => entry.phase_num === checkpoint.phase_num);
  if (!row) {
    warnings.push(`${label}: no row for phase ${checkpoint.phase_num}; load_session rebuilds the manifest`);
    return;
  }
  for (const key of ['status', 'started', 'completed', 'duration'] as const) {
    if (row[key] !== checkpoint[key]) {
      warnings.push(
        `${label}: phase ${checkpoint.phase_num} ${key} is ${String(row[key] ?? '-')} but ${source} says ${String(checkpoint[key] ?? '-')}; load_session rebuilds the manifest`,
      );
    }
  }
}

/** What `read` gives, or null (its message in `errors`) when the file cannot be understood. */
async function capture<T>(errors: string[], read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE') {
      errors.push(error.message);
      return null;
    }
    throw error;
  }
}

function finish(errors: string[], warnings: string[]): ValidationReport {
  return { is_valid: errors.length === 0, errors, warnings };
}
