import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointRecord,
  parseCheckpoint,
  renderCheckpoint,
} from '../../src/checkpoint/formats/checkpoint.js';
import { tempDir } from '../helpers/base-dir.js';
import { openDocuments } from '../helpers/engine.js';

const PHASE = ['p1', 'sessions', 's1', 'phase_1_concept'];
const CHECKPOINT = [...PHASE, 'checkpoint.md'];
const RECORD: CheckpointRecord = {
  phase_num: 1,
  phase_name: 'Concept',
  status: 'in_progress',
  retry_count: 0,
  execution_mode: 'parallel',
  updated: '2026-12-01T00:00:00.000Z',
  agents: [{ agent_name: 'writer', status: 'completed' }],
  errors: [],
};
const TEXT = renderCheckpoint(RECORD);

// Parsed records are shared between callers, not copied: one caller changing one must not change
// what the next caller reads.
describe('the parse cache', () => {
  it('hands out one frozen record per version: changing it throws, and the next read is as the file says', async () => {
    const { store } = await openDocuments(join(await tempDir(), 'base'));
    await store.ensureDirectory(PHASE);
    await store.write(CHECKPOINT, TEXT);
    const first = await store.parsed.read(CHECKPOINT, parseCheckpoint);
    if (first === undefined) throw new Error('the checkpoint was not read');
    expect(first.status).toBe('in_progress');
    expect(() => {
      first.status = 'completed';
    }).toThrow(TypeError);
    expect(() => {
      (first.agents[0] as { status: string }).status = 'failed';
    }).toThrow(TypeError);
    expect(() => first.agents.push(first.agents[0] as never)).toThrow(TypeError);
    const again = await store.parsed.read(CHECKPOINT, parseCheckpoint);
    expect(again).toBe(first);
    expect(again?.status).toBe('in_progress');
    expect(again?.agents.map((agent) => agent.status)).toStrictEqual(['completed']);
    // A new version is parsed again.
    await store.write(CHECKPOINT, renderCheckpoint({ ...RECORD, status: 'completed' }));
    expect((await store.parsed.read(CHECKPOINT, parseCheckpoint))?.status).toBe('completed');
  });
});
