import { CheckpointError, isCheckpointError } from './model/errors.js';
import { PROJECT_FILE, WORKFLOWS_DIR, workflowFile } from './model/paths.js';
import { BUILT_IN_WORKFLOW } from './model/phases.js';
import { assertWorkflow, type WorkflowDefinition } from './model/workflows.js';
import type { DefineWorkflowRequest } from './session/requests.js';
import { caseTwins, type WorkflowRegistry } from './session/workflow-registry.js';
import type { Engine } from './store/engine.js';

export interface WorkflowSummary {
  workflow_type: string;
  title: string;
  revision: number;
  modes: string[];
  /** Set when the workflow's document cannot be read: what is wrong, and where. */
  problem?: string;
}

/** The user's workflows: define (a new revision each time it changes), list and read them. */
export class WorkflowManager {
  constructor(
    private readonly store: Engine,
    private readonly registry: WorkflowRegistry,
  ) {}

  async define(request: DefineWorkflowRequest): Promise<{ workflow_type: string; revision: number }> {
    const definition: Omit<WorkflowDefinition, 'revision'> = {
      workflow_type: request.workflow_type,
      title: (request.title ?? request.workflow_type).trim(),
      default_mode: request.default_mode,
      phases: request.phases.map((phase) => ({
        num: phase.num,
        name: phase.name.trim(),
        folder: phase.folder,
      })),
      modes: request.modes.map((mode) => ({ name: mode.name, phases: [...mode.phases] })),
    };
    assertWorkflow(definition);
    if (definition.workflow_type.toLowerCase() === BUILT_IN_WORKFLOW) {
      throw new CheckpointError(
        'CONFLICT',
        `${BUILT_IN_WORKFLOW} is built in and cannot be redefined; choose another workflow_type`,
      );
    }
    if (await this.store.exists([WORKFLOWS_DIR, PROJECT_FILE])) {
      throw new CheckpointError(
        'CONFLICT',
        `a project named "${WORKFLOWS_DIR}" is in the base directory, where workflows are kept; rename or move that project folder, then call define_workflow again`,
      );
    }
    await this.store.ensureDirectory([WORKFLOWS_DIR]);
    return this.store.withLock([WORKFLOWS_DIR], async (lock) => {
      // Two types that differ only in case would be one file on macOS and Windows.
      const folded = definition.workflow_type.toLowerCase();
      const stored = (await this.registry.types()).filter((type) => type.toLowerCase() === folded);
      // Twins copied in by hand: which one to update is the person's to settle, not this call's.
      if (stored.length > 1) throw this.registry.caseTwinConflict(stored);
      const twin = stored.find((type) => type !== definition.workflow_type);
      if (twin) {
        throw new CheckpointError(
          'CONFLICT',
          `workflow "${twin}" differs from "${definition.workflow_type}" only in letter case, which one file on macOS or Windows cannot tell apart; use workflow_type "${twin}" to update it, or choose another name`,
        );
      }
      const current = await this.current(definition.workflow_type);
      if (current && sameDefinition(current, definition))
        return { workflow_type: definition.workflow_type, revision: current.revision };
      // A document restored from history/ by hand says an older revision: the next is past every one given out.
      const revision =
        Math.max(current?.revision ?? 0, await this.keptVersions(definition.workflow_type)) + 1;
      await this.registry.save({ ...definition, revision }, lock);
      return { workflow_type: definition.workflow_type, revision };
    });
  }

  async list(): Promise<{ workflows: WorkflowSummary[] }> {
    const workflows: WorkflowSummary[] = [];
    const types = await this.registry.types();
    for (const type of types) {
      // Documents differing only in letter case are one workflow on macOS and Windows: listed once, as a problem.
      const twins = caseTwins(types, type);
      if (twins.length > 0) {
        if (twins.some((twin) => twin < type)) continue;
        const problem = this.registry.caseTwinConflict([type, ...twins]).message;
        workflows.push({ workflow_type: type, title: type, revision: 0, modes: [], problem });
        continue;
      }
      try {
        const definition = await this.registry.get(type, { twins: 'read' });
        workflows.push({
          workflow_type: type,
          title: definition.title,
          revision: definition.revision,
          modes: definition.modes.map((mode) => mode.name),
        });
      } catch (error) {
        // One broken document must not hide the others: it is listed with what is wrong.
        if (!isCheckpointError(error) || error.code !== 'CORRUPT_FILE') throw error;
        workflows.push({ workflow_type: type, title: type, revision: 0, modes: [], problem: error.message });
      }
    }
    return { workflows };
  }

  async get(workflowType: string): Promise<WorkflowDefinition> {
    return this.registry.get(workflowType);
  }

  /** The stored definition, or undefined when there is none or it cannot be read (it is being replaced). */
  private async current(workflowType: string): Promise<WorkflowDefinition | undefined> {
    try {
      // define() has refused twins already.
      return await this.registry.get(workflowType, { twins: 'read' });
    } catch (error) {
      if (isCheckpointError(error) && (error.code === 'NOT_FOUND' || error.code === 'CORRUPT_FILE'))
        return undefined;
      throw error;
    }
  }

  /** Revisions already given out, as far as history and the document there show. */
  private async keptVersions(workflowType: string): Promise<number> {
    const exists = await this.store.exists(workflowFile(workflowType));
    const history = await this.store.history(workflowFile(workflowType));
    return history.length + (exists ? 1 : 0);
  }
}

/** Whether two definitions say the same (their revisions aside): defining it again changes nothing. */
function sameDefinition(
  a: Omit<WorkflowDefinition, 'revision'>,
  b: Omit<WorkflowDefinition, 'revision'>,
): boolean {
  const canonical = (d: Omit<WorkflowDefinition, 'revision'>) =>
    JSON.stringify([
      d.workflow_type,
      d.title,
      d.default_mode,
      d.phases.map((phase) => [phase.num, phase.name, phase.folder]),
      d.modes.map((mode) => [mode.name, mode.phases]),
    ]);
  return canonical(a) === canonical(b);
}
