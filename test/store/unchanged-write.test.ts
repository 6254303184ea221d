import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CheckpointError } from '../../src/checkpoint/model/errors.js';
import { StaleStampError } from '../../src/checkpoint/store/engine.js';
import { tempDir } from '../helpers/base-dir.js';
import { openDocuments } from '../helpers/engine.js';

const MANIFEST = ['p1', 'sessions', 's1', 'session_manifest.md'];
const OUTPUT = ['p1', 'sessions', 's1', 'phase_1_concept', 'writer.md'];

/** What `promise` rejects with; fails the test when it resolves. */
async function rejected(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the write to fail, but it resolved');
}

// A write with `unchanged` is how save_agent_output acts on the phases it remembers without asking
// first: it must write only while the named document still has the stamp, and nothing otherwise.
describe('a write that holds only while another document is unchanged', () => {
  async function setup() {
    const documents = await openDocuments(join(await tempDir(), 'base'));
    const store = documents.store;
    await store.ensureDirectory(OUTPUT.slice(0, -1));
    await store.write(MANIFEST, 'manifest, first version\n');
    await store.write(OUTPUT, 'output, first version\n', { keepHistory: true });
    const stamp = await store.documentStamp(MANIFEST);
    if (stamp === undefined) throw new Error('the manifest has no stamp');
    return { store, stamp, documents };
  }

  it('writes while the document still has its stamp', async () => {
    const { store, stamp } = await setup();
    const options = { keepHistory: true, unchanged: { rel: MANIFEST, stamp } };
    expect(await store.write(OUTPUT, 'output, second version\n', options)).toBe(true);
    expect(await store.read(OUTPUT)).toBe('output, second version\n');
    expect((await store.history(OUTPUT)).map((version) => version.version)).toStrictEqual([1]);
  });

  it('writes nothing, history included, once the document changed, and says so with StaleStampError', async () => {
    const { store, stamp } = await setup();
    await store.write(MANIFEST, 'manifest, second version, longer than the first\n');
    const options = { keepHistory: true, unchanged: { rel: MANIFEST, stamp } };
    const error = await rejected(store.write(OUTPUT, 'output, second version\n', options));
    expect(error).toBeInstanceOf(StaleStampError);
    expect(await store.read(OUTPUT)).toBe('output, first version\n');
    expect(await store.history(OUTPUT)).toStrictEqual([]);
    // A new document is not made either.
    const fresh = [...OUTPUT.slice(0, -1), 'critic.md'];
    expect(await rejected(store.write(fresh, 'never written\n', options))).toBeInstanceOf(StaleStampError);
    expect(await store.exists(fresh)).toBe(false);
  });

  it('writes nothing when the document is gone', async () => {
    const { store, stamp } = await setup();
    const other = ['p1', 'sessions', 's1', 'elsewhere.md'];
    const options = { unchanged: { rel: other, stamp } };
    expect(await rejected(store.write(OUTPUT, 'output, second version\n', options))).toBeInstanceOf(
      StaleStampError,
    );
    expect(await store.read(OUTPUT)).toBe('output, first version\n');
  });

  it('hands the writer the stamp documentStamp then reads, and nothing when nothing was written', async () => {
    const { store, stamp } = await setup();
    const stamps: string[] = [];
    const stamped = (written: string) => stamps.push(written);
    await store.write(MANIFEST, 'manifest, second version\n', { stamped });
    expect(stamps).toHaveLength(1);
    expect(stamps[0]).not.toBe(stamp);
    expect(stamps[0]).toBe(await store.documentStamp(MANIFEST));
    // The same content again with keepHistory writes nothing: no stamp.
    expect(await store.write(MANIFEST, 'manifest, second version\n', { keepHistory: true, stamped })).toBe(
      false,
    );
    expect(stamps).toHaveLength(1);
    // A write trusting the handed stamp goes through.
    const options = { unchanged: { rel: MANIFEST, stamp: stamps[0] as string } };
    expect(await store.write(OUTPUT, 'output, second version\n', options)).toBe(true);
  });

  it('a stamp handed out inside a locked action that failed names the version that stands, or none', async () => {
    const { store, documents } = await setup();
    let handed: string | undefined;
    const failed = await rejected(
      store.withLock(MANIFEST.slice(0, -1), async (lock) => {
        await store.write(MANIFEST, 'manifest, written then given up\n', {
          lock,
          stamped: (written) => {
            handed = written;
          },
        });
        throw new CheckpointError('CONFLICT', 'the action failed after the write');
      }),
    );
    expect(String(failed)).toMatch(/the action failed after the write/);
    if (handed === undefined) throw new Error('the write handed no stamp');
    const options = { unchanged: { rel: MANIFEST, stamp: handed } };
    if (documents.engine === 'postgres') {
      // The transaction rolled back: the write id never reached the table, so the stamp can only fail.
      expect(await store.read(MANIFEST)).toBe('manifest, first version\n');
      expect(await rejected(store.write(OUTPUT, 'output, second version\n', options))).toBeInstanceOf(
        StaleStampError,
      );
      expect(await store.read(OUTPUT)).toBe('output, first version\n');
    } else {
      // A file renamed into place stays: the stamp is the one on disk.
      expect(await store.read(MANIFEST)).toBe('manifest, written then given up\n');
      expect(await store.write(OUTPUT, 'output, second version\n', options)).toBe(true);
    }
  });
});
