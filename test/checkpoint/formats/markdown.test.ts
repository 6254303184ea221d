import { describe, expect, it } from 'vitest';
import { corrupt, splitVerbatim } from '../../../src/checkpoint/formats/markdown.js';

describe('splitVerbatim', () => {
  it('cuts at the first line that is exactly the heading and drops the one blank line after it', () => {
    expect(splitVerbatim('# T\n\n## Output\n\nbody\n## Output\n', 'Output')).toStrictEqual({
      head: '# T\n\n',
      body: 'body\n## Output\n',
    });
  });

  it('tolerates CRLF around the heading of a hand-edited file', () => {
    expect(splitVerbatim('# T\r\n## Output\r\n\r\nbody\r\n', 'Output')).toStrictEqual({
      head: '# T\r\n',
      body: 'body\r\n',
    });
  });

  it('keeps a body that starts with its own blank lines', () => {
    expect(splitVerbatim('## Output\n\n\n\nbody', 'Output').body).toBe('\n\nbody');
    expect(splitVerbatim('## Output\n\n\r\nbody', 'Output').body).toBe('\r\nbody');
  });

  it('does not cut at a heading with more text, other spacing or mid-line', () => {
    const text = '## Outputs\n## Output \n##  Output\nx ## Output\n### Output\n';
    expect(splitVerbatim(text, 'Output')).toStrictEqual({ head: text, body: undefined });
  });

  it('gives an empty body when the file ends at the heading', () => {
    expect(splitVerbatim('# T\n## Output', 'Output')).toStrictEqual({ head: '# T\n', body: '' });
  });
});

describe('the advice of CORRUPT_FILE', () => {
  it('names the way back each document has: history/ for a phase’s, a rebuild for the manifest, none for project.md', () => {
    const message = (file: string) => corrupt(file, 3, 'bad').message;
    expect(message('p/sessions/s/phase_1_concept/checkpoint.md')).toBe(
      "p/sessions/s/phase_1_concept/checkpoint.md:3: bad; fix the file by hand, or restore an earlier version from the phase's history/ folder (list_history lists them)",
    );
    expect(message('p/sessions/s/session_manifest.md')).toBe(
      'p/sessions/s/session_manifest.md:3: bad; fix the file by hand, or delete it: load_session rebuilds it from the phase checkpoints',
    );
    expect(message('p/project.md')).toBe(
      'p/project.md:3: bad; fix the file by hand (project.md keeps no earlier versions)',
    );
  });
});
