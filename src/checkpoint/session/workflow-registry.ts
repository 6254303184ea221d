import { parseWorkflow, renderWorkflow } from '../formats/workflow.js';
import { CheckpointError } from '../model/errors.js';
import { identifierProblem } from '../model/identifiers.js';
import { WORKFLOWS_DIR, workflowFile } from '../model/paths.js';
import { BUILT_IN_WORKFLOW } from '../model/phases.js';
import {
  IDEA_VALIDATION,
  RESERVED_WORKFLOW_TYPE,
  type WorkflowDefinition,
  workflowProblem,
} from '../model/workflows.js';
import type { Engine, SessionLock } from '../store/engine.js';

/** Workflow types a NOT_FOUND names; the rest are counted. */
const TYPES_NAMED = 20;

/**
 * The workflows a session can run: the built-in idea_validation, and the user's, each a document
 * `workflows/{workflow_type}.md` kept like every other (atomic writes, history). A document that
 * cannot be understood is CORRUPT_FILE at its line, for that workflow only.
 */
export class WorkflowRegistry {
  constructor(private readonly store: Engine) {}

  /**
   * The current definition; NOT_FOUND naming the workflows there are when there is none, CONFLICT when
   * another document differs from its own only in letter case (see caseTwinConflict). `twins: 'read'`
   * reads the document of that exact name all the same, as a session's lost manifest is rebuilt.
   */
  async get(workflowType: string, options: { twins?: 'refuse' | 'read' } = {}): Promise<WorkflowDefinition> {
    if (workflowType === BUILT_IN_WORKFLOW) return IDEA_VALIDATION;
    // A file of such a name (put there by hand; define_workflow refuses the names) is no workflow: a
    // session of it would read, once its manifest is parsed again, as the built-in one or as a project.
    const reserved = [BUILT_IN_WORKFLOW, RESERVED_WORKFLOW_TYPE].find(
      (name) => workflowType.toLowerCase() === name,
    );
    if (reserved !== undefined)
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        reserved === BUILT_IN_WORKFLOW
          ? `workflow_type "${workflowType}" differs from the built-in ${BUILT_IN_WORKFLOW} only in letter case; use "${BUILT_IN_WORKFLOW}"`
          : `workflow_type "${workflowType}" is reserved (any letter case); call list_workflows for the workflows there are`,
      );
    const problem = identifierProblem(workflowType);
    if (problem)
      throw new CheckpointError(
        'INVALID_ARGUMENT',
        `workflow_type ${JSON.stringify(workflowType)} ${problem}`,
      );
    const rel = workflowFile(workflowType);
    // Parsed once per version of the document, as the session documents are.
    const definition = await this.store.parsed.read(rel, (text, label) =>
      this.parse(text, label, workflowType),
    );
    if (definition === undefined) {
      // Named here, not only by list_workflows: an agent offered the core tools has no list_workflows.
      const types = await this.types();
      const shown = types.slice(0, TYPES_NAMED).join(', ');
      const more =
        types.length > TYPES_NAMED
          ? ` and ${types.length - TYPES_NAMED} more (list_workflows lists them)`
          : '';
      throw new CheckpointError(
        'NOT_FOUND',
        `workflow "${workflowType}" not found; the workflows there are ${shown}${more}: pass one of them as workflow_type, or call define_workflow to make it`,
      );
    }
    if (options.twins !== 'read') {
      const twins = caseTwins(await this.types(), workflowType);
      if (twins.length > 0) throw this.caseTwinConflict([workflowType, ...twins]);
    }
    return definition;
  }

  /**
   * CONFLICT for documents of workflows/ whose names differ only in letter case (copied there by hand;
   * define_workflow makes none). On macOS and Windows they are one file, so which definition a session of
   * that type runs would depend on where the base directory is: none is used until a person keeps one.
   */
  caseTwinConflict(types: readonly string[]): CheckpointError {
    const files = [...types].sort().map((type) => this.store.label(workflowFile(type)));
    return new CheckpointError(
      'CONFLICT',
      `${files.join(' and ')} differ only in letter case, which one file on macOS or Windows cannot tell apart, so none of them is used; keep one: delete the ${files.length > 2 ? 'others' : 'other'} or move ${files.length > 2 ? 'them' : 'it'} out of ${WORKFLOWS_DIR}/ by hand, then call again`,
    );
  }

  /** Every workflow type there is: the built-in one first, then the user's in name order. */
  async types(): Promise<string[]> {
    const names = (await this.store.list([WORKFLOWS_DIR]))
      .filter((entry) => entry.kind === 'file' && entry.name.endsWith('.md'))
      .map((entry) => entry.name.slice(0, -3))
      .filter(
        (name) =>
          identifierProblem(name) === undefined &&
          name.toLowerCase() !== BUILT_IN_WORKFLOW &&
          name.toLowerCase() !== RESERVED_WORKFLOW_TYPE,
      )
      .sort();
    return [BUILT_IN_WORKFLOW, ...names];
  }

  /** The earlier revisions of a user's workflow kept in workflows/history/, newest first; unreadable ones left out. */
  async kept(workflowType: string): Promise<WorkflowDefinition[]> {
    if (workflowType === BUILT_IN_WORKFLOW || identifierProblem(workflowType)) return [];
    const rel = workflowFile(workflowType);
    const definitions: WorkflowDefinition[] = [];
    for (const { version } of (await this.store.history(rel)).reverse()) {
      const file = this.store.historyFile(rel, version);
      const definition = await this.store.parsed
        .read(file, (text, label) => this.parse(text, label, workflowType))
        .catch(() => undefined);
      if (definition !== undefined) definitions.push(definition);
    }
    return definitions;
  }

  /** Writes a definition as its document (the one it replaces goes to history/). */
  async save(definition: WorkflowDefinition, lock: SessionLock): Promise<void> {
    await this.store.ensureDirectory([WORKFLOWS_DIR]);
    await this.store.write(workflowFile(definition.workflow_type), renderWorkflow(definition), {
      keepHistory: true,
      lock,
    });
  }

  private parse(text: string, label: string, workflowType: string): WorkflowDefinition {
    let definition: WorkflowDefinition;
    try {
      definition = parseWorkflow(text, label);
    } catch (error) {
      // The format's advice speaks of a phase's history/; a workflow's versions are in workflows/history/.
      if (!(error instanceof CheckpointError)) throw error;
      throw new CheckpointError(
        'CORRUPT_FILE',
        `${error.message.split('; fix the file by hand')[0]}${ADVICE}`,
      );
    }
    const lines = text.split('\n');
    if (definition.workflow_type !== workflowType) {
      throw corruptAt(
        label,
        lineOf(lines, /workflow type/i),
        `Workflow Type is ${definition.workflow_type} but the file is ${workflowType}.md`,
      );
    }
    const problem = workflowProblem(definition);
    if (problem) {
      const line = problem.at
        ? rowLine(lines, problem.at.table, problem.at.index)
        : fieldLine(lines, problem.message);
      throw corruptAt(label, line, problem.message);
    }
    return definition;
  }
}

/** The line of the field or table a problem without a row names (default_mode, phases, modes), else 1. */
function fieldLine(lines: readonly string[], message: string): number {
  const field = /^(default_mode|workflow_type|phases|modes)\b/.exec(message)?.[1];
  const patterns: Record<string, RegExp> = {
    default_mode: /^\s*-\s*default mode\s*:/i,
    workflow_type: /^\s*-\s*workflow type\s*:/i,
    phases: /^\s*##\s*phases\s*$/i,
    modes: /^\s*##\s*modes\s*$/i,
  };
  const pattern = field === undefined ? undefined : patterns[field];
  return (pattern && lineOf(lines, pattern)) || 1;
}

const ADVICE = '; fix the file by hand, restore it from workflows/history/, or call define_workflow';

function corruptAt(label: string, line: number, problem: string): CheckpointError {
  return new CheckpointError('CORRUPT_FILE', `${label}:${line}: ${problem}${ADVICE}`);
}

/** The line of row `index` of a section's table (after its header and rule). */
function rowLine(lines: readonly string[], table: 'phases' | 'modes', index: number): number {
  const heading = lines.findIndex((line) => line.trim().toLowerCase() === `## ${table}`);
  let seen = -2;
  for (let i = heading + 1; heading >= 0 && i < lines.length; i++) {
    if (!lines[i]?.trim().startsWith('|')) continue;
    if (seen++ === index) return i + 1;
  }
  return heading + 1;
}

/** The types among `types` that differ from `workflowType` only in letter case. */
export function caseTwins(types: readonly string[], workflowType: string): string[] {
  const folded = workflowType.toLowerCase();
  return types.filter((type) => type !== workflowType && type.toLowerCase() === folded);
}

function lineOf(lines: readonly string[], pattern: RegExp): number {
  return lines.findIndex((line) => pattern.test(line)) + 1;
}
