import { describe, expect, it } from 'vitest';
import { serverAddress, signIn, signOut, signUp, toAppError, useBackend, type Backend } from '../api';

describe('toAppError', () => {
  it('passes an AppError through', () => {
    expect(toAppError({ code: 'keyring_unavailable', message: 'locked' })).toEqual({
      code: 'keyring_unavailable',
      message: 'locked',
    });
  });

  it('wraps strings and Errors (e.g. Tauri argument errors)', () => {
    expect(toAppError('invalid args')).toEqual({ code: 'internal', message: 'invalid args' });
    expect(toAppError(new Error('boom'))).toEqual({ code: 'internal', message: 'boom' });
    expect(toAppError({ code: 'x' })).toEqual({ code: 'x', message: '' });
  });
});

function recording() {
  const invoked: [string, unknown][] = [];
  const backend: Backend = {
    invoke: async <T>(cmd: string, args?: Record<string, unknown>) => {
      invoked.push([cmd, args]);
      return null as T;
    },
    listen: async () => () => {},
  };
  useBackend(backend);
  return invoked;
}

describe('commands', () => {
  it('sign_in / sign_up send allowInsecure, false unless asked; server_address sends the input', async () => {
    const invoked = recording();
    const a = { serverUrl: 'ws://chat.example.org', username: 'tom', password: 'p' };
    await signIn(a);
    await signIn({ ...a, allowInsecure: true });
    await signUp({ ...a, displayName: 'Tom' });
    await signUp({ ...a, displayName: 'Tom', allowInsecure: true });
    await serverAddress({ input: 'chat.example.org' });
    expect(invoked).toEqual([
      ['sign_in', { ...a, allowInsecure: false }],
      ['sign_in', { ...a, allowInsecure: true }],
      ['sign_up', { ...a, displayName: 'Tom', allowInsecure: false, invite: null }],
      ['sign_up', { ...a, displayName: 'Tom', allowInsecure: true, invite: null }],
      ['server_address', { input: 'chat.example.org' }],
    ]);
  });

  it('sign_out sends forgetData (camelCase, Tauri maps it to forget_data), false unless asked', async () => {
    const invoked: [string, unknown][] = [];
    const backend: Backend = {
      invoke: async <T>(cmd: string, args?: Record<string, unknown>) => {
        invoked.push([cmd, args]);
        return null as T;
      },
      listen: async () => () => {},
    };
    useBackend(backend);
    await signOut();
    await signOut({ forgetData: true });
    await signOut({ forgetData: false });
    expect(invoked).toEqual([
      ['sign_out', { forgetData: false }],
      ['sign_out', { forgetData: true }],
      ['sign_out', { forgetData: false }],
    ]);
  });
});
