import { describe, expect, it } from 'vitest';
import { callError, callOk, connectedClient, errorCode } from '../helpers/client.js';

describe('in-process client', () => {
  it('create_session then load_session answers through a real client', async () => {
    const { client } = await connectedClient();
    await callOk(client, 'create_session', { project_id: 'p1', session_id: 's1', user_id: 'u1' });
    const state = await callOk<{ next_phase: number }>(client, 'load_session', { project_id: 'p1', session_id: 's1' });
    expect(state.next_phase).toBe(1);
    const text = await callError(client, 'load_session', { project_id: 'p1', session_id: 'nope' });
    expect(errorCode(text)).toBe('NOT_FOUND');
  });
});
