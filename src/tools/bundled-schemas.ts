import type { Tool } from '@modelcontextprotocol/server';

/** A tool's schemas as tools/list shows them. */
export type ListedSchemas = Pick<Tool, 'inputSchema' | 'outputSchema'>;

/**
 * Every tool's listed schemas by tool name, as the server listed them when scripts/bundle.mjs built
 * dist/ (the bundle replaces this module): the built server answers tools/list without converting a
 * zod schema. Empty here, so a run from source converts each schema itself (listed-schema.ts).
 */
export const BUNDLED_SCHEMAS: ReadonlyMap<string, ListedSchemas> = new Map();
