import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CheckpointManager } from '../checkpoint/checkpoint-manager.js';
import type { ProjectManager } from '../checkpoint/project-manager.js';
import type { DocumentWatcher } from '../checkpoint/watcher.js';
import type { Activity } from './activity.js';
import type { ToolCatalog } from './catalog.js';
import type { Logger } from './logger.js';

/** What every tool group is given. */
export interface ToolContext {
  server: McpServer;
  logger: Logger;
  checkpoints: CheckpointManager;
  projects: ProjectManager;
  activity: Activity;
  watcher: DocumentWatcher;
  catalog: ToolCatalog;
}
