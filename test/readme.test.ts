import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderReadme } from '../scripts/tool-table.js';

describe('README', () => {
  it('the tool, options and error tables match the code (run npm run docs:tools when this fails)', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    expect(await renderReadme(readme)).toBe(readme);
  });

  it('names the install-and-test command that .ci/run runs word for word', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const ci = readFileSync(new URL('../.ci/run', import.meta.url), 'utf8');
    expect(readme).toContain('npm install && npm test');
    expect(ci).toMatch(/^npm install && npm test/m);
  });

  it('mcp.json.example starts the built entry with node, never npm start', () => {
    const example = JSON.parse(readFileSync(new URL('../mcp.json.example', import.meta.url), 'utf8'));
    const entry = example.mcpServers.checkpoint;
    expect(entry.command).toBe('node');
    expect(entry.args[0]).toMatch(/dist\/server\.js$/);
    expect(entry.env.CHECKPOINT_BASE_DIR).toBeTruthy();
  });
});
