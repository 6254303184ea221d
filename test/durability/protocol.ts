import type { SessionRef } from '../../src/checkpoint/model/paths.js';

/** Store options a child can receive as JSON (no injected fs). */
export interface ChildStoreOptions {
  durable?: boolean;
  lockTimeoutMs?: number;
  staleLockMs?: number;
}

interface Common {
  base: string;
  ref: SessionRef;
  store?: ChildStoreOptions;
}

export type WorkerConfig = Common &
  (
    | { mode: 'writer'; proc: number; saves: number }
    | { mode: 'reader'; pauseMs: number }
    | { mode: 'crash-loop'; first: number }
    | { mode: 'hold'; retryCount: number }
  );

/** The comments of save `j` of writer `proc`: unique, so every save can be found again. */
export function feedbackComment(proc: number, j: number): string {
  return `p${proc} save ${j}\n`;
}
