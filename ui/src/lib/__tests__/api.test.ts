import { describe, expect, it } from 'vitest';
import {
  changePassword,
  closeWindow,
  quitApp,
  listSessions,
  revokeSession,
  serverAddress,
  serverSignUpMode,
  setNotificationText,
  signIn,
  signOut,
  signUp,
  toAppError,
  useBackend,
  type Backend,
} from '../api';

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

  it('set_notification_text sends show', async () => {
    const invoked = recording();
    await setNotificationText({ show: false });
    await setNotificationText({ show: true });
    expect(invoked).toEqual([
      ['set_notification_text', { show: false }],
      ['set_notification_text', { show: true }],
    ]);
  });
});

describe('window commands', () => {
  it('close_window and quit_app have no arguments', async () => {
    const invoked = recording();
    expect(await closeWindow()).toBeNull();
    expect(await quitApp()).toBeNull();
    expect(invoked).toEqual([
      ['close_window', undefined],
      ['quit_app', undefined],
    ]);
  });
});

describe('accounts: sign-up modes, invite codes, sessions, password', () => {
  it('sign_up sends the invite code as typed, null when there is none', async () => {
    const invoked = recording();
    const a = { serverUrl: 'chat.example.org', username: 'tom', password: 'p', displayName: 'Tom' };
    await signUp({ ...a, invite: '7kq2 m9xd-4HBT-C0WZ' });
    await signUp({ ...a, invite: null });
    await signUp(a);
    expect(invoked).toEqual([
      ['sign_up', { ...a, allowInsecure: false, invite: '7kq2 m9xd-4HBT-C0WZ' }],
      ['sign_up', { ...a, allowInsecure: false, invite: null }],
      ['sign_up', { ...a, allowInsecure: false, invite: null }],
    ]);
    // (null, not left out: the Rust side's Option<String> takes both.)
    expect(Object.keys(invoked[2][1] as object)).toContain('invite');
  });

  it('server_sign_up_mode sends server and allowInsecure (false unless asked), and nothing else', async () => {
    const invoked = recording();
    await serverSignUpMode({ server: 'chat.example.org' });
    await serverSignUpMode({ server: 'ws://10.0.0.2:7822', allowInsecure: true });
    await serverSignUpMode({ server: 'x', allowInsecure: false, extra: 1 } as never);
    expect(invoked).toEqual([
      ['server_sign_up_mode', { server: 'chat.example.org', allowInsecure: false }],
      ['server_sign_up_mode', { server: 'ws://10.0.0.2:7822', allowInsecure: true }],
      ['server_sign_up_mode', { server: 'x', allowInsecure: false }],
    ]);
  });

  it('list_sessions has no arguments; revoke_session sends sessionId; change_password oldPassword and newPassword', async () => {
    const invoked = recording();
    await listSessions();
    await revokeSession({ sessionId: '9c1e0f4b7a2d8e63' });
    await changePassword({ oldPassword: 'old-password', newPassword: 'new-password' });
    expect(invoked).toEqual([
      ['list_sessions', undefined],
      ['revoke_session', { sessionId: '9c1e0f4b7a2d8e63' }],
      ['change_password', { oldPassword: 'old-password', newPassword: 'new-password' }],
    ]);
  });

  it('their refusals arrive as AppErrors', async () => {
    useBackend({
      invoke: async () => {
        throw { code: 'session_not_found', message: 'no session "x" of this account' };
      },
      listen: async () => () => {},
    });
    await expect(revokeSession({ sessionId: 'x' })).rejects.toEqual({ code: 'session_not_found', message: 'no session "x" of this account' });
    useBackend({
      invoke: async () => {
        throw 'command change_password not found';
      },
      listen: async () => () => {},
    });
    await expect(changePassword({ oldPassword: 'a', newPassword: 'b' })).rejects.toEqual({
      code: 'internal',
      message: 'command change_password not found',
    });
  });
});
