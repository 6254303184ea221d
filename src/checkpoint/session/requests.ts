import type { AgentEntry } from '../formats/checkpoint.js';
import type { ProjectStatus } from '../formats/project.js';
import type { SessionRef } from '../model/paths.js';
import type { ExecutionMode, WorkflowType } from '../model/phases.js';
import type {
  AgentStatus,
  FeedbackAction,
  PhaseExecutionMode,
  PhaseStatus,
  SessionStatus,
} from '../model/vocabulary.js';

export type { SessionRef };

export interface CreateSessionRequest extends SessionRef {
  user_id: string;
  execution_mode?: ExecutionMode | undefined;
  workflow_type?: WorkflowType | undefined;
}

export interface PhaseRef extends SessionRef {
  phase_num: number;
}

type Optional<T> = { [K in keyof T]?: T[K] | undefined };

export interface SaveCheckpointRequest extends PhaseRef {
  status: PhaseStatus;
  agents: Array<
    Pick<AgentEntry, 'agent_name' | 'status'> &
      Optional<Omit<AgentEntry, 'agent_name' | 'status' | 'cost'>> & {
        /** US dollars, at most ten decimal places. */
        cost?: number | undefined;
      }
  >;
  started?: string | undefined;
  completed?: string | undefined;
  duration?: number | undefined;
  execution_mode?: PhaseExecutionMode | undefined;
  retry_count?: number | undefined;
  errors?: string[] | undefined;
}

export interface SaveAgentOutputRequest extends PhaseRef {
  agent_name: string;
  output_content: string;
  status?: AgentStatus | undefined;
  duration?: number | undefined;
  model?: string | undefined;
  input_tokens?: number | undefined;
  output_tokens?: number | undefined;
  tools_used?: string[] | undefined;
  error_type?: string | undefined;
  error_message?: string | undefined;
  stack_trace?: string | undefined;
}

export interface SaveUserFeedbackRequest extends PhaseRef {
  reviewed: boolean;
  approved: boolean;
  comments?: string | undefined;
  requested_changes?: string[] | undefined;
  action?: FeedbackAction | undefined;
  retry_count?: number | undefined;
}

export interface GetPhaseOutputsRequest extends SessionRef {
  phase_nums?: number[] | undefined;
}

export interface GetAgentOutputRequest extends PhaseRef {
  agent_name: string;
  version?: number | undefined;
  offset?: number | undefined;
  max_chars?: number | undefined;
}

export interface PageRequest {
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface ListSessionsRequest extends PageRequest {
  project_id: string;
  status?: SessionStatus | undefined;
}

export interface CreateProjectRequest {
  user_id: string;
  startup_idea: string;
  project_name?: string | undefined;
  workflow_type?: WorkflowType | undefined;
  execution_mode?: ExecutionMode | undefined;
  project_id?: string | undefined;
}

export interface StartSessionRequest {
  project_id: string;
  workflow_type?: WorkflowType | undefined;
  user_id?: string | undefined;
}

export interface ListProjectsRequest extends PageRequest {
  user_id?: string | undefined;
  status?: ProjectStatus | undefined;
}

export interface ProjectRef {
  project_id: string;
}

export interface DefineWorkflowRequest {
  workflow_type: string;
  title?: string | undefined;
  default_mode: string;
  phases: Array<{ num: number; name: string; folder: string }>;
  modes: Array<{ name: string; phases: number[] }>;
}
