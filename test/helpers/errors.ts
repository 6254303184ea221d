import { CheckpointError } from '../../src/checkpoint/model/errors.js';

/** The CheckpointError `action` throws; fails the test when it throws nothing or something else. */
export function thrown(action: () => unknown): CheckpointError {
  try {
    action();
  } catch (error) {
    if (error instanceof CheckpointError) return error;
    throw error;
  }
  throw new Error('expected a CheckpointError, but nothing was thrown');
}

/** The CheckpointError `promise` rejects with; fails the test when it resolves or rejects otherwise. */
export async function rejected(promise: Promise<unknown>): Promise<CheckpointError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CheckpointError) return error;
    throw error;
  }
  throw new Error('expected a CheckpointError, but the promise resolved');
}
