import { describe, expect, it } from 'vitest';
import { signOut, toAppError, useBackend, type Backend } from '../api';

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

describe('commands', () => {
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
