export interface Limits {
  /** UTF-8 bytes of one agent output. */
  maxContentBytes: number;
  /** UTF-8 bytes of comments and of a startup idea. */
  maxTextBytes: number;
  maxAgents: number;
  maxRequestedChanges: number;
  maxErrors: number;
  /** JSON-encoded UTF-8 bytes of content in one response. */
  maxResponseBytes: number;
  /** JSON-encoded UTF-8 bytes of one prompt, which lands whole in a model's context. */
  maxPromptBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Limits = {
  maxContentBytes: 4 * MiB,
  maxTextBytes: MiB,
  maxAgents: 1000,
  maxRequestedChanges: 1000,
  maxErrors: 1000,
  maxResponseBytes: MiB,
  maxPromptBytes: 100 * 1024,
};

export type Clock = () => Date;

export const systemClock: Clock = () => new Date();
