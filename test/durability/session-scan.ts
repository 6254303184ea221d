import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parseAgentOutput } from '../../src/checkpoint/formats/agent-output.js';
import { parseCheckpoint } from '../../src/checkpoint/formats/checkpoint.js';
import { type ManifestRecord, parseManifest } from '../../src/checkpoint/formats/manifest.js';
import { parseUserFeedback } from '../../src/checkpoint/formats/user-feedback.js';
import type { SessionRef } from '../../src/checkpoint/model/paths.js';
import type { SessionFiles } from '../../src/checkpoint/session/session-files.js';
import { buildManifest, identityOf, manifestAgrees } from '../../src/checkpoint/session/session-state.js';
import { listFiles } from './harness.js';

/**
 * What a session directory holds, file by file: a fingerprint of each current file and of each
 * version in history/, keyed by the file's path in its phase directory. A checkpoint's fingerprint
 * is its retry count, feedback's the SHA-256 of its comments, an agent output's that of its content,
 * a manifest's (kept in the session's history/) its revision.
 */
export interface SessionScan {
  manifest: ManifestRecord | undefined;
  current: Map<string, string>;
  history: Map<string, string[]>;
  /** Files that did not parse, or whose content does not match its recorded SHA-256. */
  torn: string[];
}

export async function scanSession(sessionPath: string): Promise<SessionScan> {
  const scan: SessionScan = { manifest: undefined, current: new Map(), history: new Map(), torn: [] };
  for (const path of await listFiles(sessionPath)) {
    if (path.split('/').some((part) => part.startsWith('.'))) continue;
    const text = await readFile(join(sessionPath, path), 'utf8');
    try {
      if (path === 'session_manifest.md') {
        scan.manifest = parseManifest(text, path);
        continue;
      }
      const inHistory = basename(dirname(path)) === 'history';
      const phaseDir = inHistory ? dirname(dirname(path)) : dirname(path);
      const stem = basename(path).replace(inHistory ? /\.v\d+\.md$/ : /\.md$/, '');
      const file = `${phaseDir}/${stem}.md`;
      const fp = fingerprint(stem, text, path);
      if (inHistory) scan.history.set(file, [...(scan.history.get(file) ?? []), fp]);
      else scan.current.set(file, fp);
    } catch (error) {
      scan.torn.push(`${path}: ${(error as Error).message}`);
    }
  }
  return scan;
}

function fingerprint(stem: string, text: string, path: string): string {
  // A manifest replaced while it disagreed with its checkpoints (as a save cut short leaves it) is kept
  // in the session's own history/.
  if (stem === 'session_manifest') return `revision:${parseManifest(text, path).revision}`;
  if (stem === 'checkpoint') return `retry:${parseCheckpoint(text, path).retry_count}`;
  if (stem === 'user_feedback') return sha256(parseUserFeedback(text, path).comments);
  const output = parseAgentOutput(text, path);
  const actual = sha256(output.content);
  if (actual !== output.sha256)
    throw new Error(`content SHA-256 ${actual} differs from recorded ${output.sha256}`);
  return actual;
}

/** Whether the stored manifest says what the checkpoints say, read straight from the disk. */
export async function manifestMatchesCheckpoints(
  files: SessionFiles,
  ref: SessionRef,
  manifest: ManifestRecord,
): Promise<boolean> {
  const identity = identityOf(manifest);
  const checkpoints = await files.readCheckpoints(ref, identity.plan);
  return manifestAgrees(
    manifest,
    buildManifest(identity, checkpoints, manifest.revision, manifest.last_updated),
  );
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}
