import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { describe, expect, it } from 'vitest';
import { createServer } from '../../src/server.js';
import { BUNDLED_SCHEMAS } from '../../src/tools/bundled-schemas.js';
import { managers, tempDir } from '../helpers/base-dir.js';
import { silentLogger, spawnedClient } from '../helpers/client.js';

describe('the schemas bundled into the built server', () => {
  it('are the ones a server run from source converts: the built server lists every tool alike', async () => {
    // From source the module is empty, and the catalogue converts each zod schema itself.
    expect(BUNDLED_SCHEMAS.size).toBe(0);
    const setup = await managers();
    const server = createServer({
      checkpoints: setup.checkpoints,
      projects: setup.projects,
      logger: silentLogger,
    });
    const client = new Client({ name: 'bundled-schemas-tests', version: '1.0.0' });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(serverSide), client.connect(clientSide)]);
    const fromSource = (await client.listTools()).tools;
    await client.close();
    const { client: built } = await spawnedClient(await tempDir());
    expect((await built.listTools()).tools).toEqual(fromSource);
  }, 30_000);
});
