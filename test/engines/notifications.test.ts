import { expect, it } from 'vitest';
import { PgStore } from '../../src/checkpoint/store/postgres/pg-store.js';
import { freshStoreUrl } from '../helpers/engine.js';

/** Waits until `done()` holds, at most `ms`. */
async function until(done: () => boolean, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

// Every write notifies on one channel per database: two stores in two schemas of one database
// (search_path in the URL) must not wake each other's subscribers for the same path.
it('a write in one schema does not wake a watcher of the same path in another schema of the database', async () => {
  const a = await PgStore.open(await freshStoreUrl());
  const b = await PgStore.open(await freshStoreUrl());
  try {
    await a.ensureDirectory(['p1']);
    let heard = 0;
    const stop = await a.watch(['p1', 'project.md'], () => heard++);
    await b.write(['p1', 'project.md'], 'written in the other schema only\n');
    // Then a write the watcher must hear: once it has, the other schema's (sent first) was not heard.
    await a.write(['p1', 'project.md'], 'written in its own schema\n');
    await until(() => heard > 0, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    stop();
    expect(heard).toBe(1);
  } finally {
    await a.close();
    await b.close();
  }
});
