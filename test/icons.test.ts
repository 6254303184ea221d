import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ICONS } from '../src/icons.js';
import { connectedClient } from './helpers/client.js';

describe('server icons', () => {
  it('are the assets, inlined byte for byte', () => {
    const decoded = ICONS.map((icon) => Buffer.from(icon.src.slice(icon.src.indexOf(',') + 1), 'base64'));
    expect(decoded[0]?.equals(readFileSync(new URL('../assets/icon.svg', import.meta.url)))).toBe(true);
    expect(decoded[1]?.equals(readFileSync(new URL('../assets/icon-64.png', import.meta.url)))).toBe(true);
  });

  it('are in the server info a client receives', async () => {
    const { client } = await connectedClient();
    expect(client.getServerVersion()?.icons).toEqual(ICONS);
  });
});
