import { constants } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The physical floor of one durable save: what the store must do at least, done directly in Node.
 * Temporary file (exclusive create), write, fsync, close, rename over the target, fsync the directory.
 */
export async function durableWrite(directory: string, name: string, data: Uint8Array): Promise<void> {
  const temp = join(directory, `.${name}.${process.pid}.tmp`);
  const handle = await open(temp, 'wx', 0o644);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, join(directory, name));
  const dir = await open(directory, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
