import type { CheckpointManager } from './checkpoint-manager.js';
import {
  type ProjectRecord,
  parseProject,
  renderProject,
  type SalvagedProject,
  salvageProject,
} from './formats/project.js';
import { encodedSize, sliceEnd } from './model/budget.js';
import { definedOnly } from './model/define.js';
import { CheckpointError, isPlantedLink } from './model/errors.js';
import { assertIdentifier, identifierProblem } from './model/identifiers.js';
import { compareNewestFirst, pageOf } from './model/paging.js';
import { projectDir, projectFile } from './model/paths.js';
import { BUILT_IN_WORKFLOW, type ExecutionMode } from './model/phases.js';
import { UuidV7 } from './model/uuid.js';
import { assertTextLimit, metadataValue } from './model/values.js';
import { planOf } from './model/workflows.js';
import { refuseProjectTwin } from './session/case-twins.js';
import { assertPageLimit } from './session/request-checks.js';
import type {
  CreateProjectRequest,
  ListProjectsRequest,
  ProjectRef,
  StartSessionRequest,
} from './session/requests.js';
import type { Engine } from './store/engine.js';

/** UTF-8 bytes of a project's name: a title, shown with hundreds of others by list_projects. */
export const MAX_PROJECT_NAME_BYTES = 256;

export interface ProjectSummary {
  project_id: string;
  project_name: string;
  user_id: string;
  workflow_type: string;
  execution_mode: ExecutionMode;
  status: ProjectRecord['status'];
  created_at: string;
}

/** A project as list_projects shows it: with the problem of a project.md that does not parse. */
export interface ListedProject extends ProjectSummary {
  problem?: string;
}

export interface ProjectDetails extends ProjectSummary {
  updated_at: string;
  startup_idea: string;
  startup_idea_chars: number;
  startup_idea_truncated: boolean;
}

const MAX_SLUG = 64;

/** Projects, and new sessions started in them. */
export class ProjectManager {
  private readonly ids = new UuidV7();

  constructor(
    private readonly store: Engine,
    private readonly checkpoints: CheckpointManager,
  ) {}

  async createProject(request: CreateProjectRequest): Promise<ProjectSummary> {
    assertIdentifier('user_id', request.user_id);
    assertTextLimit(
      'startup_idea',
      request.startup_idea,
      this.checkpoints.limits.maxTextBytes,
      'Shorten the idea and call again; put the long material in a phase 1 agent output with save_agent_output',
    );
    const name =
      request.project_name === undefined
        ? undefined
        : assertTextLimit(
            'project_name',
            metadataValue('project_name', request.project_name, 'describe the project in startup_idea'),
            MAX_PROJECT_NAME_BYTES,
            'A name is a title (list_projects shows hundreds a page): shorten it, and describe the project in startup_idea',
          );
    // The workflow and mode its sessions run, checked before anything is made.
    const definition = await this.checkpoints.workflows.get(request.workflow_type ?? BUILT_IN_WORKFLOW);
    const plan = planOf(definition, request.execution_mode);
    const now = this.checkpoints.clock();
    const projectId = await this.claimProjectId(request.project_id, name, now.getTime());
    const project: ProjectRecord = {
      project_id: projectId,
      project_name: name ?? projectId,
      user_id: request.user_id,
      workflow_type: plan.workflow_type,
      execution_mode: plan.execution_mode,
      status: 'active',
      created: now.toISOString(),
      updated: now.toISOString(),
      startup_idea: request.startup_idea,
    };
    await this.store.withLock(projectDir(projectId), async (lock) => {
      if (await this.store.exists(projectFile(projectId))) throw projectExists(projectId);
      await this.store.write(projectFile(projectId), renderProject(project), { lock });
    });
    return summaryOf(project);
  }

  async startSession(request: StartSessionRequest) {
    const project = await this.readProject(request.project_id);
    if (project.status === 'archived') {
      throw new CheckpointError(
        'CONFLICT',
        `project "${project.project_id}" is archived; sessions cannot be started in it. Call create_project for a new one`,
      );
    }
    // The project's workflow and mode, unless another workflow is asked for (then its default mode).
    const workflow = request.workflow_type ?? project.workflow_type;
    const ownMode = workflow === project.workflow_type;
    const session = await this.checkpoints
      .createSession({
        project_id: project.project_id,
        session_id: this.ids.next(this.checkpoints.clock().getTime()),
        user_id: request.user_id ?? project.user_id,
        workflow_type: workflow,
        ...(ownMode ? { execution_mode: project.execution_mode } : {}),
      })
      .catch(async (error: unknown) => {
        throw ownMode ? await this.staleProjectMode(project, error) : error;
      });
    return {
      session_id: session.session_id,
      project_id: session.project_id,
      execution_mode: session.execution_mode,
      current_phase: 0,
      completed_phases: [] as number[],
      phases: session.phases,
    };
  }

  /**
   * The error of a session started in the project's own mode that its workflow no longer has (redefined
   * without it): the agent named no mode, so it hears where the mode came from and the two ways on.
   */
  private async staleProjectMode(project: ProjectRecord, error: unknown): Promise<unknown> {
    if (!(error instanceof CheckpointError) || error.code !== 'INVALID_ARGUMENT') return error;
    const definition = await this.checkpoints.workflows.get(project.workflow_type).catch(() => undefined);
    const modes = definition?.modes.map((mode) => mode.name);
    if (modes === undefined || modes.includes(project.execution_mode)) return error;
    return new CheckpointError(
      'CONFLICT',
      `project "${project.project_id}" runs workflow ${project.workflow_type} in mode "${project.execution_mode}", which the workflow no longer has (its modes are ${modes.join(', ')}); call create_session with project_id "${project.project_id}", a new session_id, your user_id, workflow_type "${project.workflow_type}" and an execution_mode of those, or edit Execution Mode in ${project.project_id}/project.md`,
    );
  }

  async listProjects(
    request: ListProjectsRequest,
  ): Promise<{ projects: ListedProject[]; next_cursor?: string }> {
    if (request.user_id !== undefined) assertIdentifier('user_id', request.user_id);
    assertPageLimit(request.limit);
    const summaries: Array<ListedProject & { id: string; created: string }> = [];
    for (const entry of await this.store.list([])) {
      if (entry.kind !== 'directory') continue;
      const summary = await this.summary(entry.name);
      if (!summary) continue;
      if (request.user_id !== undefined && summary.user_id !== request.user_id) continue;
      if (request.status !== undefined && summary.status !== request.status) continue;
      summaries.push({ ...summary, id: summary.project_id, created: summary.created_at });
    }
    summaries.sort(compareNewestFirst);
    const { page, next_cursor } = pageOf(summaries, request.limit, request.cursor, 'projects');
    return {
      projects: page.map(({ id: _id, created: _created, ...summary }) => summary),
      ...definedOnly({ next_cursor }),
    };
  }

  async getProject(request: ProjectRef): Promise<ProjectDetails> {
    const project = await this.readProject(request.project_id);
    const budget = this.checkpoints.limits.maxResponseBytes;
    const idea = project.startup_idea;
    const cut = encodedSize(idea) > budget ? sliceEnd(idea, 0, idea.length, budget) : idea.length;
    return {
      ...summaryOf(project),
      updated_at: project.updated,
      startup_idea: idea.slice(0, cut),
      startup_idea_chars: idea.length,
      startup_idea_truncated: cut < idea.length,
    };
  }

  async archiveProject(request: ProjectRef): Promise<ProjectSummary> {
    assertIdentifier('project_id', request.project_id);
    await this.readProject(request.project_id);
    return this.store.withLock(projectDir(request.project_id), async (lock) => {
      const project = await this.readProject(request.project_id);
      if (project.status === 'archived') return summaryOf(project);
      const archived: ProjectRecord = {
        ...project,
        status: 'archived',
        updated: this.checkpoints.clock().toISOString(),
      };
      await this.store.write(projectFile(project.project_id), renderProject(archived), { lock });
      return summaryOf(archived);
    });
  }

  async readProject(projectId: string): Promise<ProjectRecord> {
    assertIdentifier('project_id', projectId);
    const project = await this.store.parsed.read(projectFile(projectId), parseProject);
    if (project === undefined) {
      throw new CheckpointError(
        'NOT_FOUND',
        `project "${projectId}" not found; call list_projects or create_project`,
      );
    }
    return project;
  }

  private async summary(projectId: string): Promise<ListedProject | undefined> {
    if (identifierProblem(projectId)) return undefined;
    try {
      const project = await this.store.parsed.read(projectFile(projectId), parseProject);
      return project && summaryOf(project);
    } catch (error) {
      // A link planted in place of a project is no project of ours: the listing goes on without it.
      if (isPlantedLink(error)) return undefined;
      // A project.md broken by hand hides no other project: it is listed with its problem.
      if (error instanceof CheckpointError && error.code === 'CORRUPT_FILE')
        return this.unreadable(projectId, error);
      throw error;
    }
  }

  /** A project whose project.md does not parse, as much of it as salvageProject still reads. */
  private async unreadable(projectId: string, problem: CheckpointError): Promise<ListedProject> {
    let salvaged: SalvagedProject = {};
    try {
      const text = await this.store.read(projectFile(projectId));
      if (text !== undefined) salvaged = salvageProject(text);
    } catch (error) {
      if (!(error instanceof CheckpointError && error.code === 'CORRUPT_FILE')) throw error;
    }
    const created = salvaged.created ?? (await this.store.createdAt(projectDir(projectId)))?.toISOString();
    return {
      project_id: projectId,
      project_name: salvaged.project_name ?? projectId,
      user_id: salvaged.user_id ?? 'unknown',
      workflow_type: salvaged.workflow_type ?? 'unknown',
      execution_mode: salvaged.execution_mode ?? 'unknown',
      status: salvaged.status ?? 'active',
      created_at: created ?? new Date(0).toISOString(),
      problem: problem.message,
    };
  }

  /** The requested id, or a slug of the name (else a UUIDv7) made unique by claiming its directory. */
  private async claimProjectId(
    requested: string | undefined,
    name: string | undefined,
    now: number,
  ): Promise<string> {
    if (requested !== undefined) {
      assertIdentifier('project_id', requested);
      if (!(await this.store.exists(projectFile(requested)))) await refuseProjectTwin(this.store, requested);
      await this.store.ensureDirectory(projectDir(requested));
      return requested;
    }
    const slug = name === undefined ? '' : slugify(name);
    if (slug === '') {
      const id = this.ids.next(now);
      await this.store.createDirectoryExclusive(projectDir(id));
      return id;
    }
    // A slug is in lower case: one a folder holds in other letters is taken too (see refuseProjectTwin).
    const taken = new Set(
      (await this.store.list([]))
        .filter((entry) => entry.name !== entry.name.toLowerCase())
        .map((entry) => entry.name.toLowerCase()),
    );
    for (let n = 1; ; n++) {
      const suffix = n === 1 ? '' : `-${n}`;
      const candidate = `${slug.slice(0, MAX_SLUG - suffix.length).replace(/-+$/, '')}${suffix}`;
      if (taken.has(candidate)) continue;
      if (await this.store.createDirectoryExclusive(projectDir(candidate))) return candidate;
    }
  }
}

export function slugify(name: string): string {
  const slug = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, MAX_SLUG)
    .replace(/-+$/, '');
  // A slug that is a reserved name (such as "con") falls back to a UUIDv7.
  return slug !== '' && identifierProblem(slug) === undefined ? slug : '';
}

function projectExists(projectId: string): CheckpointError {
  return new CheckpointError(
    'CONFLICT',
    `project "${projectId}" already exists; call get_project to use it, or choose another project_id`,
  );
}

function summaryOf(project: ProjectRecord): ProjectSummary {
  return {
    project_id: project.project_id,
    project_name: project.project_name,
    user_id: project.user_id,
    workflow_type: project.workflow_type,
    execution_mode: project.execution_mode,
    status: project.status,
    created_at: project.created,
  };
}
