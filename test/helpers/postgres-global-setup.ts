import type { TestProject } from 'vitest/node';
import { startCluster } from './postgres.js';

/**
 * The postgres project's one cluster for the whole run: started before the first test file, its admin
 * URL handed to the workers (engine.ts injects it and makes a database per file), stopped at the end.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startCluster();
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}
