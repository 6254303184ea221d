import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import { CheckpointManager } from '../../src/checkpoint/checkpoint-manager.js';
import { type Clock, DEFAULT_LIMITS, type Limits } from '../../src/checkpoint/model/limits.js';
import { ProjectManager } from '../../src/checkpoint/project-manager.js';
import type { Engine } from '../../src/checkpoint/store/engine.js';
import {
  closeStores,
  type Documents,
  type EngineName,
  openDocuments,
  type TestStoreOptions,
} from './engine.js';

const created: string[] = [];

afterEach(async () => {
  await closeStores();
  for (const dir of created.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test. */
export async function tempDir(prefix = 'checkpoint-mcp-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export interface Managers extends Documents {
  checkpoints: CheckpointManager;
  projects: ProjectManager;
}

export interface ManagersOptions {
  /** Default: the engine under test (see engine.ts). */
  engine?: EngineName;
  store?: TestStoreOptions;
  clock?: Clock;
  limits?: Partial<Limits>;
  /** The engine the managers work through, made from the one under test (which `store` stays). */
  through?: (store: Engine) => Engine;
}

/**
 * Managers over fresh, empty storage on the engine under test (see engine.ts); on the file engine the
 * base directory is a `base` subfolder of a temp dir, so siblings can be planted.
 */
export async function managers(options: ManagersOptions = {}): Promise<Managers> {
  const documents = await openDocuments(join(await tempDir(), 'base'), options.store, {
    engine: options.engine,
  });
  return { ...documents, ...managersOn(options.through?.(documents.store) ?? documents.store, options) };
}

/** The managers of one server over `store`, with the options managers() takes. */
export function managersOn(
  store: Documents['store'],
  options: Pick<ManagersOptions, 'clock' | 'limits'> = {},
): Pick<Managers, 'checkpoints' | 'projects'> {
  const checkpoints = new CheckpointManager(store, options.clock, { ...DEFAULT_LIMITS, ...options.limits });
  return { checkpoints, projects: new ProjectManager(store, checkpoints) };
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
