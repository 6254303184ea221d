import type { PathLike } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import * as fsp from 'node:fs/promises';
import { basename } from 'node:path';
import { nodeFs, type StoreFs } from '../../src/checkpoint/store/fs/store-fs.js';

export type FaultStep = 'write' | 'fsync' | 'rename' | 'directory-fsync';

export interface Fault {
  step: FaultStep;
  code: 'ENOSPC' | 'EIO';
  /** Which files fail (by path); every file when absent. */
  only?: (path: string) => boolean;
}

/** node:fs/promises with a fault that can be switched on and off: the disk of the injected-fault tests. */
export class FaultyFs {
  fault: Fault | undefined;
  /** How many calls failed since the fault was set. */
  failures = 0;

  readonly fs: StoreFs = {
    ...nodeFs,
    open: (async (path: Parameters<typeof fsp.open>[0], flags?: string | number, mode?: number) => {
      const handle = await fsp.open(path, flags, mode);
      return this.wrap(
        handle,
        String(path),
        typeof flags === 'number' && (flags & fsp.constants.O_DIRECTORY) !== 0,
      );
    }) as typeof fsp.open,
    rename: async (from: Parameters<typeof fsp.rename>[0], to: Parameters<typeof fsp.rename>[1]) => {
      this.maybeFail('rename', String(to), 'rename');
      return fsp.rename(from, to);
    },
    // Documents are put in place with renameSync; the folder-time index with rename.
    renameSync: (from: PathLike, to: PathLike) => {
      this.maybeFail('rename', String(to), 'rename');
      nodeFs.renameSync(from, to);
    },
    // Descriptors opened synchronously are written with writeSync and flushed by fsync(fd): the path
    // each was opened at says which file or folder that is.
    openSync: ((path: Parameters<StoreFs['openSync']>[0], flags: string | number, mode?: number) => {
      const fd = nodeFs.openSync(path, flags, mode);
      this.opened.set(fd, {
        path: String(path),
        directory: typeof flags === 'number' && (flags & fsp.constants.O_DIRECTORY) !== 0,
      });
      return fd;
    }) as StoreFs['openSync'],
    writeSync: ((fd: number, ...rest: unknown[]) => {
      const opened = this.opened.get(fd);
      if (opened) this.maybeFail('write', opened.path, 'write');
      return (nodeFs.writeSync as (fd: number, ...args: unknown[]) => number)(fd, ...rest);
    }) as StoreFs['writeSync'],
    closeSync: (fd: number) => {
      this.opened.delete(fd);
      nodeFs.closeSync(fd);
    },
    fsync: async (fd: number) => {
      const opened = this.opened.get(fd);
      if (opened) this.maybeFail(opened.directory ? 'directory-fsync' : 'fsync', opened.path, 'fsync');
      return nodeFs.fsync(fd);
    },
  };

  private readonly opened = new Map<number, { path: string; directory: boolean }>();

  private wrap(handle: FileHandle, path: string, directory: boolean): FileHandle {
    return new Proxy(handle, {
      get: (target, property, receiver) => {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        const step: FaultStep | undefined =
          property === 'writeFile' || property === 'write'
            ? 'write'
            : property === 'sync' || property === 'datasync'
              ? directory
                ? 'directory-fsync'
                : 'fsync'
              : undefined;
        return async (...args: unknown[]) => {
          if (step) this.maybeFail(step, path, property === 'sync' ? 'fsync' : String(property));
          return value.apply(target, args);
        };
      },
    });
  }

  private maybeFail(step: FaultStep, path: string, syscall: string): void {
    const fault = this.fault;
    if (!fault || fault.step !== step || (fault.only && !fault.only(path))) return;
    this.failures++;
    const error = new Error(
      `${fault.code}: injected fault, ${syscall} '${basename(path)}'`,
    ) as NodeJS.ErrnoException;
    error.code = fault.code;
    error.syscall = syscall;
    throw error;
  }
}
