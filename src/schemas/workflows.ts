import * as z from 'zod';
import { ExecutionMode, phaseNumber, text, WorkflowType } from './common.js';

const WorkflowPhase = z.strictObject({
  num: phaseNumber('num').describe('Unique.'),
  name: text('name', 'One line, at most 80 characters.'),
  folder: text('folder', 'Unique slug [a-z0-9_]{1,40}: the folder is phase_{num}_{folder}.'),
});

const WorkflowMode = z.strictObject({
  name: ExecutionMode.describe('Mode name.'),
  phases: z.array(phaseNumber('phases[]')).describe('Its phases, in order.'),
});

export const DefineWorkflowInput = z.strictObject({
  workflow_type: WorkflowType.describe("Your workflow's id."),
  title: text('title', 'One line; default workflow_type.').optional(),
  default_mode: ExecutionMode.describe('Mode of a session that names none.'),
  phases: z.array(WorkflowPhase).describe('At most 50.'),
  modes: z.array(WorkflowMode).describe('At least one.'),
});

export const DefineWorkflowOutput = z.object({
  workflow_type: z.string(),
  revision: z.number(),
});

export const ListWorkflowsInput = z.strictObject({});

export const ListWorkflowsOutput = z.object({
  workflows: z.array(
    z.object({
      workflow_type: z.string(),
      title: z.string(),
      revision: z.number(),
      modes: z.array(z.string()),
      problem: z.string().optional(),
    }),
  ),
});

export const GetWorkflowInput = z.strictObject({ workflow_type: WorkflowType.describe('Workflow id.') });

export const GetWorkflowOutput = z.object({
  workflow_type: z.string(),
  title: z.string(),
  default_mode: z.string(),
  phases: z.array(z.object({ num: z.number(), name: z.string(), folder: z.string() })),
  modes: z.array(z.object({ name: z.string(), phases: z.array(z.number()) })),
  revision: z.number(),
});
