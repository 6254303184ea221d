import { describe, expect, it } from 'vitest';
import { connectedClient } from '../helpers/client.js';

/** What archive_project and create_project answer, and get_project begins with. */
const PROJECT_SUMMARY = [
  'project_id',
  'project_name',
  'user_id',
  'workflow_type',
  'execution_mode',
  'status',
  'created_at',
];

/** Every tool, with the input and output fields a caller must send and may rely on. */
const EXPECTED: Record<string, { input: string[]; output: string[] }> = {
  archive_project: {
    input: ['project_id'],
    output: PROJECT_SUMMARY,
  },
  create_project: {
    input: ['user_id', 'startup_idea'],
    output: PROJECT_SUMMARY,
  },
  create_session: {
    input: ['project_id', 'session_id', 'user_id'],
    output: ['project_id', 'session_id', 'execution_mode', 'phases', 'path'],
  },
  define_workflow: {
    input: ['workflow_type', 'default_mode', 'phases', 'modes'],
    output: ['workflow_type', 'revision'],
  },
  export_session: { input: ['project_id', 'session_id'], output: ['markdown'] },
  get_agent_output: {
    input: ['project_id', 'session_id', 'phase_num', 'agent_name'],
    output: ['agent_name', 'phase_num', 'status', 'executed', 'content', 'offset', 'total_chars', 'version'],
  },
  get_approved_phases: { input: ['project_id', 'session_id'], output: ['phases'] },
  get_phase_outputs: { input: ['project_id', 'session_id'], output: ['outputs', 'truncated'] },
  get_project: {
    input: ['project_id'],
    output: [
      ...PROJECT_SUMMARY,
      'updated_at',
      'startup_idea',
      'startup_idea_chars',
      'startup_idea_truncated',
    ],
  },
  get_workflow: {
    input: ['workflow_type'],
    output: ['workflow_type', 'title', 'default_mode', 'phases', 'modes', 'revision'],
  },
  list_history: { input: ['project_id', 'session_id', 'phase_num'], output: ['versions'] },
  list_projects: { input: [], output: ['projects'] },
  list_sessions: { input: ['project_id'], output: ['sessions'] },
  list_workflows: { input: [], output: ['workflows'] },
  load_session: {
    input: ['project_id', 'session_id'],
    output: [
      'session_id',
      'project_id',
      'user_id',
      'workflow_type',
      'execution_mode',
      'created',
      'last_updated',
      'status',
      'current_phase',
      'completed_phases',
      'phase_statuses',
      'can_resume',
      'metrics',
      'revision',
    ],
  },
  resume_session: {
    input: ['project_id', 'session_id'],
    output: ['reason', 'requested_changes', 'prior_outputs', 'instruction'],
  },
  save_agent_output: {
    input: ['project_id', 'session_id', 'phase_num', 'agent_name', 'output_content'],
    output: ['phase_num', 'agent_name', 'file', 'sha256'],
  },
  save_checkpoint: {
    input: ['project_id', 'session_id', 'phase_num', 'status', 'agents'],
    output: ['phase_num', 'status', 'revision'],
  },
  save_user_feedback: {
    input: ['project_id', 'session_id', 'phase_num', 'reviewed', 'approved'],
    output: ['phase_num', 'action', 'phase_status'],
  },
  start_session: {
    input: ['project_id'],
    output: ['session_id', 'project_id', 'execution_mode', 'current_phase', 'completed_phases', 'phases'],
  },
  validate_checkpoint: {
    input: ['project_id', 'session_id', 'phase_num'],
    output: ['is_valid', 'errors', 'warnings'],
  },
  validate_session: {
    input: ['project_id', 'session_id'],
    output: ['is_valid', 'errors', 'warnings', 'phases'],
  },
};

/** Tools that only read: the rest write files. */
const READ_ONLY_TOOLS = [
  'export_session',
  'get_agent_output',
  'get_approved_phases',
  'get_phase_outputs',
  'get_project',
  'get_workflow',
  'list_history',
  'list_projects',
  'list_sessions',
  'list_workflows',
  'load_session',
  'resume_session',
  'validate_checkpoint',
  'validate_session',
];

async function listedTools() {
  const { client } = await connectedClient();
  return (await client.listTools()).tools;
}

describe('tools/list', () => {
  it('lists exactly the tools of the contract, sorted', async () => {
    const names = (await listedTools()).map((tool) => tool.name).sort();
    expect(names).toEqual([
      'archive_project',
      'create_project',
      'create_session',
      'define_workflow',
      'export_session',
      'get_agent_output',
      'get_approved_phases',
      'get_phase_outputs',
      'get_project',
      'get_workflow',
      'list_history',
      'list_projects',
      'list_sessions',
      'list_workflows',
      'load_session',
      'resume_session',
      'save_agent_output',
      'save_checkpoint',
      'save_user_feedback',
      'start_session',
      'validate_checkpoint',
      'validate_session',
    ]);
    expect(names).toEqual(Object.keys(EXPECTED));
  });

  it('gives every tool an object input schema with properties and the expected required fields', async () => {
    for (const tool of await listedTools()) {
      const expected = EXPECTED[tool.name];
      const schema = tool.inputSchema;
      expect(schema.type, tool.name).toBe('object');
      // list_workflows alone takes no argument.
      expect(Object.keys(schema.properties ?? {}).length > 0, tool.name).toBe(tool.name !== 'list_workflows');
      expect(schema.required ?? [], tool.name).toEqual(expected?.input);
      for (const field of expected?.input ?? []) expect(schema.properties, tool.name).toHaveProperty(field);
    }
  });

  it('gives every tool an object output schema with properties and the expected required fields', async () => {
    for (const tool of await listedTools()) {
      const expected = EXPECTED[tool.name];
      const schema = tool.outputSchema;
      expect(schema?.type, tool.name).toBe('object');
      expect(Object.keys(schema?.properties ?? {}).length, tool.name).toBeGreaterThan(0);
      expect(schema?.required ?? [], tool.name).toEqual(expected?.output);
    }
  });

  it('describes every input field so an agent knows what to send', async () => {
    for (const tool of await listedTools()) {
      for (const [field, property] of Object.entries(tool.inputSchema.properties ?? {})) {
        const description = (property as { description?: string }).description;
        expect(description, `${tool.name}.${field}`).toMatch(/\w{3,}/);
      }
    }
  });

  it('writes no nullable field: a missing value is an absent optional field', async () => {
    for (const tool of await listedTools()) {
      const text = JSON.stringify([tool.inputSchema, tool.outputSchema]);
      expect(text, tool.name).not.toContain('"null"');
      expect(text, tool.name).not.toMatch(/"type":\[/);
    }
  });

  it('gives every tool a description and its annotations, none open-world, and no title (the name is shown)', async () => {
    for (const tool of await listedTools()) {
      expect(tool, tool.name).not.toHaveProperty('title');
      expect(tool.description?.length ?? 0, tool.name).toBeGreaterThan(40);
      const annotations = tool.annotations;
      expect(annotations?.openWorldHint, tool.name).toBe(false);
      expect(annotations?.readOnlyHint, tool.name).toBe(READ_ONLY_TOOLS.includes(tool.name));
      if (annotations?.readOnlyHint) {
        // Meaningful only for a tool that writes (MCP): a reader lists neither.
        expect(Object.keys(annotations).sort(), tool.name).toEqual(['openWorldHint', 'readOnlyHint']);
      } else {
        expect(annotations?.destructiveHint, tool.name).toBe(false);
        expect(typeof annotations?.idempotentHint, tool.name).toBe('boolean');
      }
    }
  });
});
