import type { PhaseDefinition } from './phases.js';

/** A path below the base directory, one validated name per segment. */
export type RelPath = readonly string[];

export const PROJECT_FILE = 'project.md';
export const MANIFEST_FILE = 'session_manifest.md';
export const CHECKPOINT_FILE = 'checkpoint.md';
export const FEEDBACK_FILE = 'user_feedback.md';
export const SESSIONS_DIR = 'sessions';
/** Where the user's workflows are kept; a project can therefore never be called this. */
export const WORKFLOWS_DIR = 'workflows';

export interface SessionRef {
  project_id: string;
  session_id: string;
}

export const projectDir = (projectId: string): RelPath => [projectId];
export const projectFile = (projectId: string): RelPath => [projectId, PROJECT_FILE];
export const sessionsDir = (projectId: string): RelPath => [projectId, SESSIONS_DIR];
export const sessionDir = (ref: SessionRef): RelPath => [ref.project_id, SESSIONS_DIR, ref.session_id];
export const manifestFile = (ref: SessionRef): RelPath => [...sessionDir(ref), MANIFEST_FILE];
export const phaseDir = (ref: SessionRef, phase: PhaseDefinition): RelPath => [...sessionDir(ref), phase.dir];
export const checkpointFile = (ref: SessionRef, phase: PhaseDefinition): RelPath => [
  ...phaseDir(ref, phase),
  CHECKPOINT_FILE,
];
export const feedbackFile = (ref: SessionRef, phase: PhaseDefinition): RelPath => [
  ...phaseDir(ref, phase),
  FEEDBACK_FILE,
];
export const agentFile = (ref: SessionRef, phase: PhaseDefinition, agentName: string): RelPath => [
  ...phaseDir(ref, phase),
  `${agentName}.md`,
];

export const workflowFile = (workflowType: string): RelPath => [WORKFLOWS_DIR, `${workflowType}.md`];
