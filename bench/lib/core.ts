// The built core (dist/), the very code the server runs, typed by its source.
type StoreModule = typeof import('../../src/checkpoint/store/fs/fs-store.js');
type ManagerModule = typeof import('../../src/checkpoint/checkpoint-manager.js');
type MarkdownModule = typeof import('../../src/checkpoint/formats/markdown.js');
type ManifestModule = typeof import('../../src/checkpoint/formats/manifest.js');

const DIST = new URL('../../dist/checkpoint/', import.meta.url);

async function load<T>(file: string): Promise<T> {
  return (await import(new URL(file, DIST).href)) as T;
}

export const { FsStore } = await load<StoreModule>('store/fs/fs-store.js');
export const { CheckpointManager } = await load<ManagerModule>('checkpoint-manager.js');
export const { splitVerbatim } = await load<MarkdownModule>('formats/markdown.js');
export const { parseManifest } = await load<ManifestModule>('formats/manifest.js');

export type Manager = InstanceType<typeof CheckpointManager>;

/** A checkpoint manager on `baseDir`; `durable: false` skips fsync, for setting up fixtures fast. */
export async function openManager(baseDir: string, durable: boolean): Promise<Manager> {
  return new CheckpointManager(await FsStore.open(baseDir, { durable }));
}
