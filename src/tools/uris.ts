import { documentKind, REPORT_FILE } from '../checkpoint/session/documents.js';

/** Resource URIs are `checkpoint://` and a document's path below the base directory. */
export const SCHEME = 'checkpoint://';

/** The path a resource URI names, one name per segment, or undefined for anything else. */
export function pathOf(uri: string): string[] | undefined {
  return uri.startsWith(SCHEME) ? uri.slice(SCHEME.length).split('/') : undefined;
}

/** The document a URI names (one of the five kinds), or undefined. */
export function documentPathOf(uri: string): string[] | undefined {
  const path = pathOf(uri);
  return path && documentKind(path) ? path : undefined;
}

/** Whether a URI names a session's generated report. */
export function isReportPath(path: readonly string[]): boolean {
  return path.length === 4 && path[1] === 'sessions' && path[3] === REPORT_FILE;
}
