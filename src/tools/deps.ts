import type { McpServer } from '@modelcontextprotocol/server';
import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import type { ProjectManager } from '../checkpoint/project-manager.js';
import type { WorkflowManager } from '../checkpoint/workflow-manager.js';
import type { Activity } from './activity.js';
import type { ToolCatalog } from './catalog.js';
import type { Logger } from './logger.js';
import type { SubscriptionRegistry } from './subscriptions.js';

/** What every tool group is given. */
export interface ToolContext {
  server: McpServer;
  logger: Logger;
  checkpoints: CheckpointManager;
  projects: ProjectManager;
  workflows: WorkflowManager;
  activity: Activity;
  subscriptions: SubscriptionRegistry;
  catalog: ToolCatalog;
}
