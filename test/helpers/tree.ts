import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Every entry below `root`, dot names included, as sorted relative paths; directories end with "/". */
export async function tree(root: string, dir = ''): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true });
  const paths: string[] = [];
  for (const entry of entries) {
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (entry.isDirectory()) paths.push(`${path}/`, ...(await tree(root, path)));
    else paths.push(path);
  }
  return paths.sort();
}

/** The text of a file below `root`, by its path segments. */
export function readText(root: string, ...path: string[]): Promise<string> {
  return readFile(join(root, ...path), 'utf8');
}
