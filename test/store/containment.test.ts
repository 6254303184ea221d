import { realpath } from 'node:fs/promises';
import { basename, join, sep } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FsBase, isInside, SEGMENT } from '../../src/checkpoint/store/fs/fs-base.js';
import { nodeFs } from '../../src/checkpoint/store/fs/store-fs.js';
import { RUNS } from '../helpers/arbitraries.js';
import { tempDir } from '../helpers/base-dir.js';
import { thrown } from '../helpers/errors.js';

/*
 * The base-containment check of FsBase.resolve cannot be reached through resolve today: the segment
 * rules refuse every name that could lead out first. It stays as a second wall, so it is tested here
 * directly, through resolve with the segment pattern made to let every name through, and resolve's
 * own promise (every accepted path is inside) beside it.
 */

describe('isInside', () => {
  const root = `${sep}srv${sep}base`;

  it('holds the base itself and everything below it', () => {
    for (const path of [root, join(root, 'p'), join(root, 'p', 'sessions', 's', 'x.md'), join(root, '..a')]) {
      expect(isInside(root, path), path).toBe(true);
    }
  });

  it('refuses a sibling that merely starts with the same letters, and every parent', () => {
    for (const path of [
      `${root}_evil`,
      `${root}-2${sep}p`,
      `${root}ment`,
      `${sep}srv${sep}bas`,
      `${sep}srv`,
      sep,
      '',
      `${sep}other${sep}base`,
      `srv${sep}base${sep}p`,
    ]) {
      expect(isInside(root, path), path).toBe(false);
    }
  });
});

describe('FsBase.resolve', () => {
  it('refuses every name that could leave the base or name it twice, as INVALID_ARGUMENT', async () => {
    const base = new FsBase(nodeFs, await realpath(await tempDir()), false);
    for (const segment of [
      '..',
      '.',
      '',
      'a/..',
      `..${sep}x`,
      '/etc',
      'a\\b',
      'x\u0000',
      'a b',
      'x'.repeat(256),
    ]) {
      expect(
        thrown(() => base.resolve(['p', segment])),
        JSON.stringify(segment),
      ).toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('is not a safe file name'),
      });
    }
  });

  it('refuses a path that leaves the base even when a name slips past the segment rules', async () => {
    const root = await realpath(await tempDir());
    const base = new FsBase(nodeFs, root, false);
    // The second wall, reached by taking the first one down: every name passes the pattern.
    const allowAll = vi.spyOn(SEGMENT, 'test').mockReturnValue(true);
    try {
      for (const rel of [
        ['p', `..${sep}..`],
        [`x${sep}..${sep}..${sep}etc`],
        [`..${sep}${basename(root)}_evil`],
        [`..${sep}${basename(root)}-2`, 'p'],
      ]) {
        expect(
          thrown(() => base.resolve(rel)),
          JSON.stringify(rel),
        ).toMatchObject({
          code: 'INVALID_ARGUMENT',
          message: expect.stringContaining('leaves the base directory'),
        });
      }
      // A name the pattern lets through that still ends inside is no escape.
      expect(base.resolve([`a${sep}..${sep}b`])).toBe(join(root, 'b'));
    } finally {
      allowAll.mockRestore();
    }
    expect(SEGMENT.test(`..${sep}x`)).toBe(false);
  });

  it('puts every path it accepts inside the base, exactly where its names say', async () => {
    const root = await realpath(await tempDir());
    const base = new FsBase(nodeFs, root, false);
    // Names of dots and dashes are the ones a join could misread; they are ordinary names here.
    const segment = fc.oneof(
      fc.constantFrom('...', '..a', 'a..', '.a', '-', '_', '.lock', 'x.md'),
      fc.stringMatching(SEGMENT).filter((name) => name !== '.' && name !== '..'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(segment, { minLength: 0, maxLength: 5 }), async (rel) => {
        const path = await base.resolve(rel);
        expect(path).toBe(join(root, ...rel));
        expect(isInside(root, path)).toBe(true);
      }),
      RUNS,
    );
  });
});
