import { isPlantedLink } from '../checkpoint/model/errors.js';
import { identifierProblem } from '../checkpoint/model/identifiers.js';
import { PHASES } from '../checkpoint/model/phases.js';
import type { Engine } from '../checkpoint/store/engine.js';

type Complete = (value: string, context?: { arguments?: Record<string, string> }) => Promise<string[]>;

const MAX = 100;

/** Completion of the identifiers in a document URI, from what exists on disk. */
export function completions(store: Engine): Record<string, Complete> {
  const names = async (path: string[], value: string, kind: 'file' | 'directory') =>
    identifierProblem(path[0] ?? 'x') && path.length > 0
      ? []
      : (await store.list(path).catch(noEntries))
          .filter((entry) => entry.kind === kind && entry.name.startsWith(value))
          .map((entry) => entry.name)
          .sort()
          .slice(0, MAX);
  return {
    project_id: (value) => names([], value, 'directory'),
    session_id: async (value, context) => {
      const project = context?.arguments?.project_id;
      return project === undefined || identifierProblem(project)
        ? []
        : names([project, 'sessions'], value, 'directory');
    },
    phase_dir: async (value, context) => {
      const { project_id: project, session_id: session } = context?.arguments ?? {};
      if (
        project === undefined ||
        session === undefined ||
        identifierProblem(project) ||
        identifierProblem(session)
      ) {
        return PHASES.map((phase) => phase.dir).filter((dir) => dir.startsWith(value));
      }
      return names([project, 'sessions', session], value, 'directory');
    },
    agent_name: async (value, context) => {
      const { project_id: project, session_id: session, phase_dir: phase } = context?.arguments ?? {};
      if ([project, session, phase].some((part) => part === undefined || identifierProblem(part))) return [];
      const files = await names(
        [project as string, 'sessions', session as string, phase as string],
        value,
        'file',
      );
      return files
        .filter((file) => file.endsWith('.md') && file !== 'checkpoint.md' && file !== 'user_feedback.md')
        .map((file) => file.slice(0, -3));
    },
  };
}

/** Nothing to complete below a link planted in the tree. */
function noEntries(error: unknown): [] {
  if (isPlantedLink(error)) return [];
  throw error;
}
