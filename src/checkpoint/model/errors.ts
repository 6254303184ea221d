export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'NOT_FOUND',
  'CONFLICT',
  'PHASE_NOT_IN_MODE',
  'LIMIT_EXCEEDED',
  'LOCK_TIMEOUT',
  'CORRUPT_FILE',
  'UNAVAILABLE',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** What each code means and what the caller does about it: the README's table is made from this. */
export const ERROR_MEANINGS: Record<ErrorCode, string> = {
  INVALID_ARGUMENT:
    'an argument is missing, unknown, of the wrong type or breaks a rule; the text names it and what was expected',
  NOT_FOUND:
    'the project, session, phase output or version does not exist; the text names the tool that lists them',
  CONFLICT:
    'the call contradicts what is stored (an existing session with other settings, an archived project, a case twin)',
  PHASE_NOT_IN_MODE: "the phase is not one of the session's phases; the text lists them",
  LIMIT_EXCEEDED: 'a size or count limit; nothing was saved',
  LOCK_TIMEOUT: 'another writer held the session too long; call again',
  CORRUPT_FILE:
    'a stored document cannot be understood (or is a symbolic link); the text names the file and line to fix or restore from history/',
  UNAVAILABLE:
    'the storage engine cannot be reached or did not answer in time; nothing was written, unless the text says a save may have been (then read it back first); call again',
  INTERNAL: 'an unexpected failure (disk full, I/O error); nothing was acknowledged; call again once fixed',
};

/** The one error the core throws: a closed code and a message that names the culprit and the way out. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Set on the CORRUPT_FILE of a symbolic link planted in the tree, which listings pass over. */
    readonly plantedLink = false,
  ) {
    super(message);
  }
}

/** A symbolic link met where a document or folder should be: a listing skips it, a read names it. */
export function isPlantedLink(error: unknown): boolean {
  return error instanceof CheckpointError && error.plantedLink;
}

export function isCheckpointError(error: unknown): error is CheckpointError {
  return error instanceof CheckpointError;
}
