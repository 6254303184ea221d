import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { type Clock, DEFAULT_LIMITS, type Limits } from '../../src/checkpoint/model/limits.js';
import { ProjectManager } from '../../src/checkpoint/project-manager.js';
import {
  FsStore as Store,
  type FsStoreOptions as StoreOptions,
} from '../../src/checkpoint/store/fs/fs-store.js';

const created: string[] = [];

afterEach(async () => {
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test. */
export async function tempDir(prefix = 'checkpoint-mcp-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export interface Managers {
  base: string;
  store: Store;
  checkpoints: CheckpointManager;
  projects: ProjectManager;
}

/** Managers over a fresh base directory (a `base` subfolder of a temp dir, so siblings can be planted). */
export async function managers(
  options: { store?: StoreOptions; clock?: Clock; limits?: Partial<Limits> } = {},
): Promise<Managers> {
  const base = join(await tempDir(), 'base');
  const store = await Store.open(base, options.store);
  const checkpoints = new CheckpointManager(store, options.clock, { ...DEFAULT_LIMITS, ...options.limits });
  return { base, store, checkpoints, projects: new ProjectManager(store, checkpoints) };
}

/** A clock that advances one second per call from a fixed start, for exact snapshots. */
export function steppingClock(start = Date.parse('2024-11-24T10:00:00.000Z')): Clock {
  let now = start;
  return () => {
    const date = new Date(now);
    now += 1000;
    return date;
  };
}
