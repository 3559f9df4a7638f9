// The mock backend's accounts: who may sign up (`?signup=`, or a server named invite.… / closed.…),
// invite codes, a disabled account, the account's devices and changing the password; and its
// notifications (the text preference, a click on one), the desktop settings, the self-update,
// the message cache on this computer, and what is done to messages after they are sent (edit,
// recall, delete for me, replies) with the backend's rules, errors and events.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { useBackend, type AppError, type CacheUsage, type ConversationItem, type ImEvent, type MessagePage, type SessionInfo, type UiMessage, type UpdateStatus } from '../api';
import {
  createMockBackend,
  EDIT_WINDOW_MS,
  MANAGER_RECALL_UNTIL,
  RECALL_WINDOW_MS,
  MOCK_INVITE_CODE,
  MOCK_PASSWORD_TRIES,
  MOCK_RESTORED_PASSWORD,
  MOCK_VERSION,
  normalizeInviteCode,
  tomorrowMorning,
  type MockOptions,
} from '../mock';
import { createApp } from '../store.svelte';
import { PREFERENCES_KEY } from '../stores/preferences.svelte';

function mock(search = '') {
  let clock = 1_700_000_000_000;
  return createMockBackend({ search, scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, now: () => (clock += 1000) });
}

const refusal = async (p: Promise<unknown>): Promise<AppError> => {
  try {
    await p;
  } catch (e) {
    return e as AppError;
  }
  throw new Error('it did not fail');
};

const signUp = { serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tyke2', password: 'secret123', displayName: 'Tyke' };

describe('who may sign up', () => {
  it('open by default; ?signup=invite or ?signup=closed; a server named invite.… or closed.… for itself', async () => {
    const ask = (m: ReturnType<typeof mock>, server: string) => m.invoke('server_sign_up_mode', { server, allowInsecure: false });
    expect(await ask(mock(), 'chat.example.org')).toBe('open');
    expect(await ask(mock('?signup=invite'), 'chat.example.org')).toBe('invite');
    expect(await ask(mock('?signup=closed'), 'ws://localhost:7822')).toBe('closed');
    expect(await ask(mock('?signup=nonsense'), 'chat.example.org')).toBe('open');
    expect(await ask(mock(), 'invite.example.org')).toBe('invite');
    expect(await ask(mock('?signup=invite'), 'https://closed.example.org')).toBe('closed');
  });

  it('fails like reaching the server does', async () => {
    const m = mock();
    expect((await refusal(m.invoke('server_sign_up_mode', { server: 'ftp://x', allowInsecure: false }))).code).toBe('invalid_server_address');
    expect((await refusal(m.invoke('server_sign_up_mode', { server: 'ws://chat.example.org', allowInsecure: false }))).code).toBe('insecure_server');
    expect(await m.invoke('server_sign_up_mode', { server: 'ws://chat.example.org', allowInsecure: true })).toBe('open');
    expect((await refusal(m.invoke('server_sign_up_mode', { server: 'expired.example.org', allowInsecure: false }))).code).toBe('tls_expired');
    expect((await refusal(m.invoke('server_sign_up_mode', { server: 'unreachable.example.org', allowInsecure: false }))).code).toBe('connect_failed');
  });

  it('a closed server refuses sign_up with sign_up_closed; signing in still works', async () => {
    const m = mock('?signup=closed');
    expect(await refusal(m.invoke('sign_up', { ...signUp, invite: MOCK_INVITE_CODE }))).toMatchObject({ code: 'sign_up_closed' });
    expect(await m.invoke('sign_in', { ...signUp, username: 'tom' })).toMatchObject({ username: 'tom' });
  });

  it('an invite server needs the code: invite_required without one, invite_invalid for a wrong one', async () => {
    const m = mock('?signup=invite');
    expect((await refusal(m.invoke('sign_up', signUp))).code).toBe('invite_required');
    expect((await refusal(m.invoke('sign_up', { ...signUp, invite: null }))).code).toBe('invite_required');
    expect((await refusal(m.invoke('sign_up', { ...signUp, invite: '   ' }))).code).toBe('invite_required');
    expect((await refusal(m.invoke('sign_up', { ...signUp, invite: '7KQ2-M9XD-4HBT-C0WZ' }))).code).toBe('invite_invalid');
    // Case, dashes and spaces do not matter; O reads as 0.
    expect(await m.invoke('sign_up', { ...signUp, invite: 'test code oooo-0000' })).toMatchObject({ username: 'tyke2' });
  });

  it('an open server ignores an invite code', async () => {
    expect(await mock().invoke('sign_up', { ...signUp, invite: 'whatever' })).toMatchObject({ username: 'tyke2' });
  });

  it('normalizes invite codes like the server', () => {
    expect(normalizeInviteCode('7kq2 m9xd-4hbt-cowz')).toBe('7KQ2M9XD4HBTC0WZ');
    expect(normalizeInviteCode('IL1i-l')).toBe('11111');
  });

  it('signing in as "disabled" is account_disabled', async () => {
    expect((await refusal(mock().invoke('sign_in', { ...signUp, username: 'disabled' }))).code).toBe('account_disabled');
  });
});

describe('devices and password', () => {
  async function signedIn(password = 'secret123') {
    const m = mock();
    await m.invoke('sign_in', { serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', password });
    return m;
  }

  it('lists this device and two others, newest first, this one marked current', async () => {
    const m = await signedIn();
    const list = await m.invoke<SessionInfo[]>('list_sessions');
    expect(list).toHaveLength(3);
    expect(list.filter((s) => s.current)).toHaveLength(1);
    expect(list[0].current).toBe(true);
    expect(list.map((s) => s.createdAt)).toEqual([...list.map((s) => s.createdAt)].sort((a, b) => b - a));
    expect(list.some((s) => s.device === '')).toBe(true); // an unknown device
    for (const s of list) expect(s.id).toMatch(/^[0-9a-f]{16}$/);
    expect(m.control.sessions()).toEqual(list);
  });

  it('revokes another device; its own session is invalid_params, an unknown one session_not_found', async () => {
    const m = await signedIn();
    const [mine, other] = await m.invoke<SessionInfo[]>('list_sessions');
    expect(await m.invoke('revoke_session', { sessionId: other.id })).toBeNull();
    expect((await m.invoke<SessionInfo[]>('list_sessions')).map((s) => s.id)).not.toContain(other.id);
    expect((await refusal(m.invoke('revoke_session', { sessionId: other.id }))).code).toBe('session_not_found');
    expect((await refusal(m.invoke('revoke_session', { sessionId: mine.id }))).code).toBe('invalid_params');
  });

  it('needs the connection', async () => {
    const m = await signedIn();
    m.control.setOnline(false);
    expect((await refusal(m.invoke('list_sessions'))).code).toBe('offline');
    expect((await refusal(m.invoke('revoke_session', { sessionId: 'x' }))).code).toBe('offline');
    expect((await refusal(m.invoke('change_password', { oldPassword: 'secret123', newPassword: 'new-secret' }))).code).toBe('offline');
    m.control.setOnline(true);
    expect(await m.invoke<SessionInfo[]>('list_sessions')).toHaveLength(3);
  });

  it('the server side: another device signs in, or one is signed out elsewhere', async () => {
    const m = await signedIn();
    const added = m.control.signInElsewhere('Gtedx IM on macOS');
    const list = await m.invoke<SessionInfo[]>('list_sessions');
    expect(list[0]).toEqual(added); // the newest
    expect(m.control.revokeElsewhere(added.id)).toBe(true);
    expect(m.control.revokeElsewhere(list.find((s) => s.current)!.id)).toBe(false);
    expect((await refusal(m.invoke('revoke_session', { sessionId: added.id }))).code).toBe('session_not_found');
  });

  it('change_password checks the current password, then signs out every other device', async () => {
    const m = await signedIn('secret123');
    expect(await refusal(m.invoke('change_password', { oldPassword: 'nope', newPassword: 'new-secret' }))).toMatchObject({
      code: 'wrong_credentials',
    });
    expect((await refusal(m.invoke('change_password', { oldPassword: 'secret123', newPassword: 'short' }))).code).toBe('invalid_password');
    expect((await refusal(m.invoke('change_password', { oldPassword: 'secret123', newPassword: 'x'.repeat(257) }))).code).toBe(
      'invalid_password',
    );
    // 86 three-byte characters are 258 bytes.
    expect((await refusal(m.invoke('change_password', { oldPassword: 'secret123', newPassword: '密'.repeat(86) }))).code).toBe(
      'invalid_password',
    );
    expect(await m.invoke('change_password', { oldPassword: 'secret123', newPassword: 'new-secret' })).toBeNull();
    expect(m.control.password()).toBe('new-secret');
    const list = await m.invoke<SessionInfo[]>('list_sessions');
    expect(list.map((s) => s.current)).toEqual([true]);
    // The old password no longer works for the next change.
    expect((await refusal(m.invoke('change_password', { oldPassword: 'secret123', newPassword: 'another-one' }))).code).toBe(
      'wrong_credentials',
    );
  });

  it(`is rate_limited after ${MOCK_PASSWORD_TRIES} wrong passwords, with the retry time in the message`, async () => {
    const m = await signedIn('secret123');
    for (let i = 0; i < MOCK_PASSWORD_TRIES; i++) {
      expect((await refusal(m.invoke('change_password', { oldPassword: 'nope', newPassword: 'new-secret' }))).code).toBe('wrong_credentials');
    }
    const limited = await refusal(m.invoke('change_password', { oldPassword: 'secret123', newPassword: 'new-secret' }));
    expect(limited.code).toBe('rate_limited');
    expect(limited.message).toMatch(/\d+ s/);
  });

  it('a restored session has the documented password', async () => {
    const m = createMockBackend({ search: '?mock=signedin', scripted: true, latencyMs: null, storage: null, quiet: true, history: 5 });
    await m.invoke('restore_session');
    expect(m.control.password()).toBe(MOCK_RESTORED_PASSWORD);
    expect(await m.invoke('change_password', { oldPassword: MOCK_RESTORED_PASSWORD, newPassword: 'new-secret' })).toBeNull();
  });

  it('signing out forgets the sessions', async () => {
    const m = await signedIn();
    await m.invoke('sign_out', {});
    expect(m.control.sessions()).toEqual([]);
    expect(m.control.password()).toBeNull();
    expect((await refusal(m.invoke('list_sessions'))).code).toBe('unauthenticated');
  });
});

describe('notifications', () => {
  const signedInMock = () =>
    createMockBackend({ search: '?mock=signedin', scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, deliver: (fire) => fire() });
  afterEach(() => vi.unstubAllGlobals());

  it('set_notification_text is recorded (true until then); a click on a notification is an openConversation event', async () => {
    const m = signedInMock();
    expect(m.control.notificationText()).toBe(true);
    expect(await m.invoke('set_notification_text', { show: false })).toBeNull();
    expect(m.control.notificationText()).toBe(false);
    expect((await refusal(m.invoke('set_notification_text', {}))).code).toBe('invalid_params');
    expect(m.control.notificationText()).toBe(false);
    const events: ImEvent[] = [];
    await m.listen((e) => events.push(e));
    m.control.notificationClicked('c-group');
    expect(events).toEqual([{ kind: 'openConversation', conversationId: 'c-group' }]);
  });

  it('drive the app: start-up sends the saved preference, a click opens the conversation', async () => {
    const saved = JSON.stringify({ notificationText: false });
    vi.stubGlobal('localStorage', { getItem: (k: string) => (k === PREFERENCES_KEY ? saved : null), setItem: () => {} });
    const m = signedInMock();
    useBackend(m);
    const app = createApp();
    await app.boot();
    expect(m.control.notificationText()).toBe(false);
    m.control.notificationClicked('c-group');
    await vi.waitFor(() => expect(app.currentThread?.messages.map((x) => x.text)).toEqual(m.control.messages('c-group').map((x) => x.text)));
    expect(app.selectedId).toBe('c-group');
    app.dispose();
  });
});

describe('the desktop settings', () => {
  const at = new Date(2026, 2, 3, 23, 30).getTime();
  const desktop = (search = '') =>
    createMockBackend({ search, scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, now: () => at, deliver: (f) => f() });

  it('start off, with a tray; each command answers the whole new state', async () => {
    const m = desktop();
    expect(await m.invoke('desktop_settings')).toEqual({
      closeToTray: false,
      startAtLogin: false,
      notificationsMutedUntil: null,
      trayAvailable: true,
      hardwareAcceleration: { enabled: false, active: false },
    });
    expect(await m.invoke('set_close_to_tray', { enabled: true })).toMatchObject({ closeToTray: true });
    expect(await m.invoke('set_start_at_login', { enabled: true })).toMatchObject({ closeToTray: true, startAtLogin: true });
    expect(await m.invoke('mute_notifications', { span: 'hour' })).toMatchObject({ notificationsMutedUntil: at + 3_600_000 });
    expect(await m.invoke('mute_notifications', { span: 'tomorrow' })).toMatchObject({ notificationsMutedUntil: new Date(2026, 2, 4, 8, 0).getTime() });
    expect(await m.invoke('mute_notifications', { span: 'off' })).toMatchObject({ notificationsMutedUntil: null });
    expect((await refusal(m.invoke('mute_notifications', { span: 'week' }))).code).toBe('invalid_params');
    expect((await refusal(m.invoke('set_close_to_tray', { enabled: 'yes' }))).code).toBe('invalid_params');
    expect(tomorrowMorning(new Date(2026, 11, 31, 9, 0).getTime())).toBe(new Date(2027, 0, 1, 8, 0).getTime());
  });

  it('?tray=none: no tray; ?autostart=fail: set_start_at_login fails with autostart and changes nothing', async () => {
    expect(((await desktop('?tray=none').invoke('desktop_settings')) as { trayAvailable: boolean }).trayAvailable).toBe(false);
    const m = desktop('?autostart=fail');
    const e = await refusal(m.invoke('set_start_at_login', { enabled: true }));
    expect(e.code).toBe('autostart');
    expect(e.message).toContain('autostart');
    expect(m.control.desktopSettings().startAtLogin).toBe(false);
    m.control.failAutostart(false);
    expect(await m.invoke('set_start_at_login', { enabled: true })).toMatchObject({ startAtLogin: true });
  });

  it('hardware acceleration: the saved choice changes; restart_app makes the app use it', async () => {
    const m = desktop();
    const events: ImEvent[] = [];
    await m.listen((e) => events.push(e));
    expect(await m.invoke('set_hardware_acceleration', { enabled: true })).toMatchObject({ hardwareAcceleration: { enabled: true, active: false } });
    expect((await refusal(m.invoke('set_hardware_acceleration', { enabled: 1 }))).code).toBe('invalid_params');
    expect(m.control.desktopSettings().hardwareAcceleration).toEqual({ enabled: true, active: false });
    expect(await m.invoke('restart_app')).toBeNull();
    expect(m.control.windowCommands()).toEqual(['restart_app']);
    expect(m.control.desktopSettings().hardwareAcceleration).toEqual({ enabled: true, active: true });
    expect(await m.invoke('set_hardware_acceleration', { enabled: false })).toMatchObject({ hardwareAcceleration: { enabled: false, active: true } });
    expect(events).toEqual([]); // (no event: the real app's page starts afresh)
    // (Each answer is its own copy.)
    (m.control.desktopSettings().hardwareAcceleration as { enabled: boolean }).enabled = true;
    expect(m.control.desktopSettings().hardwareAcceleration).toEqual({ enabled: false, active: true });
  });

  it('?hwaccel=none (Windows, macOS): null, and set_hardware_acceleration is refused', async () => {
    const m = desktop('?hwaccel=none');
    expect(((await m.invoke('desktop_settings')) as { hardwareAcceleration: unknown }).hardwareAcceleration).toBeNull();
    expect((await refusal(m.invoke('set_hardware_acceleration', { enabled: true }))).code).toBe('invalid_params');
    expect(await m.invoke('restart_app')).toBeNull();
    expect(m.control.desktopSettings().hardwareAcceleration).toBeNull();
  });

  it('the tray pauses them: a desktopSettings event with the new state', async () => {
    const m = desktop();
    const events: ImEvent[] = [];
    await m.listen((e) => events.push(e));
    m.control.muteFromTray('hour');
    expect(events).toEqual([{ kind: 'desktopSettings', settings: { ...m.control.desktopSettings(), notificationsMutedUntil: at + 3_600_000 } }]);
  });
});

describe('the window commands (Ctrl+W, Ctrl+Q)', () => {
  it('close_window and quit_app take no arguments, answer null and are recorded, signed in or not', async () => {
    const m = mock();
    expect(m.control.windowCommands()).toEqual([]);
    expect(await m.invoke('close_window')).toBeNull();
    expect(await m.invoke('quit_app')).toBeNull();
    expect(m.control.windowCommands()).toEqual(['close_window', 'quit_app']);
  });

  it('the app asks for them; a failure is a toast, not an unhandled rejection', async () => {
    const m = mock('?mock=signedin');
    useBackend(m);
    const app = createApp();
    await app.closeWindow();
    await app.quitApp();
    expect(m.control.windowCommands()).toEqual(['close_window', 'quit_app']);
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    useBackend({
      invoke: async () => {
        throw { code: 'internal', message: 'the window is gone' };
      },
      listen: async () => () => {},
    });
    await app.quitApp();
    expect(app.toasts.map((t) => t.text)).toHaveLength(1);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
    app.dispose();
  });
});

describe('the self-update', () => {
  const at = new Date(2026, 2, 3, 10, 0).getTime();
  const updater = (search = '', more: MockOptions = {}) => {
    const events: ImEvent[] = [];
    const m = createMockBackend({ search, scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, now: () => at, deliver: (f) => f(), ...more });
    void m.listen((e) => events.push(e));
    const updates = () => events.filter((e) => e.kind === 'update').map((e) => (e as { status: UpdateStatus }).status.state);
    return { m, updates };
  };

  it('nothing checked at start; a check answers `checking` and ends as the options say: nothing newer', async () => {
    const { m, updates } = updater();
    expect(await m.invoke('update_status')).toEqual({ currentVersion: MOCK_VERSION, autoCheck: true, checkedAt: null, state: { kind: 'idle' } });
    expect(await m.invoke('check_for_updates')).toMatchObject({ state: { kind: 'checking' } });
    expect(updates()).toEqual([{ kind: 'checking' }]);
    expect(m.control.finishUpdateCheck()).toMatchObject({ checkedAt: at, state: { kind: 'upToDate' } });
    expect(updates()).toEqual([{ kind: 'checking' }, { kind: 'upToDate' }]);
  });

  it('?update=0.2.0: the check downloads it (with progress events) and has it ready, with its notes', async () => {
    const { m, updates } = updater('?update=0.2.0');
    await m.invoke('check_for_updates');
    const status = m.control.finishUpdateCheck();
    expect(status.state).toMatchObject({ kind: 'ready', version: '0.2.0' });
    expect((status.state as { notes: string }).notes).toContain('<b>Not bold</b>');
    const kinds = updates().map((s) => s.kind);
    expect(kinds[0]).toBe('checking');
    expect(kinds.filter((k) => k === 'downloading').length).toBeGreaterThan(2);
    expect(kinds[kinds.length - 1]).toBe('ready');
    // Ready, it stays: another check starts nothing.
    expect(await m.invoke('check_for_updates')).toMatchObject({ state: { kind: 'ready' } });
    expect(updates().length).toBe(kinds.length);
  });

  it('?update=fail: update_network; ?update=unsupported: check_for_updates refused', async () => {
    const failing = updater('?update=fail').m;
    await failing.invoke('check_for_updates');
    expect(failing.control.finishUpdateCheck().state).toMatchObject({ kind: 'failed', error: { code: 'update_network' } });
    const unsupported = updater('?update=unsupported');
    expect((await refusal(unsupported.m.invoke('check_for_updates'))).code).toBe('update_unsupported');
    expect(unsupported.updates()).toEqual([]);
  });

  it('install_update: only a ready update; installing (then, in the app, a restart); ?install=fail: ready again', async () => {
    const { m, updates } = updater('?update=0.2.0');
    expect(await refusal(m.invoke('install_update'))).toMatchObject({ code: 'update_install', message: 'no update is ready' });
    await m.invoke('check_for_updates');
    m.control.finishUpdateCheck();
    m.control.failUpdateInstall(true);
    const before = updates().length;
    const e = await refusal(m.invoke('install_update'));
    expect(e.code).toBe('update_install');
    expect(updates().slice(before)).toEqual([{ kind: 'installing', version: '0.2.0' }, expect.objectContaining({ kind: 'ready', version: '0.2.0' })]);
    m.control.failUpdateInstall(false);
    expect(await m.invoke('install_update')).toBeNull();
    expect(m.control.updateStatus().state).toEqual({ kind: 'installing', version: '0.2.0' });
    const failing = updater('?update=0.2.0&install=fail').m;
    await failing.invoke('check_for_updates');
    failing.control.finishUpdateCheck();
    expect((await refusal(failing.invoke('install_update'))).message).toContain('dpkg');
    expect(failing.control.updateStatus().state.kind).toBe('ready');
  });

  it('set_auto_update: the status after it, without an event (like the backend)', async () => {
    const { m, updates } = updater('', { update: { autoCheck: false } });
    expect(m.control.updateStatus().autoCheck).toBe(false);
    expect(await m.invoke('set_auto_update', { enabled: true })).toMatchObject({ autoCheck: true });
    expect(updates()).toEqual([]);
    expect((await refusal(m.invoke('set_auto_update', { enabled: 'yes' }))).code).toBe('invalid_params');
  });

  it('the steps keep the backend’s rules: each only in a state it fits', () => {
    const { m } = updater();
    expect(m.control.updateFound('0.3.0').state).toEqual({ kind: 'idle' }); // no check running
    m.control.updateCheckStarts();
    expect(m.control.updateFound('0.3.0', null)).toMatchObject({ checkedAt: at, state: { kind: 'downloading', version: '0.3.0', received: 0, total: null } });
    expect(m.control.updateCheckStarts().state.kind).toBe('downloading'); // one at a time
    expect(m.control.updateProgress(10).state).toMatchObject({ received: 10 });
    expect(m.control.updateFailed('update_signature').state).toMatchObject({ kind: 'failed', error: { code: 'update_signature' } });
    expect(m.control.updateCheckStarts().state.kind).toBe('checking'); // after a failure, again
    expect(m.control.updateUpToDate().state.kind).toBe('upToDate');
  });
});

describe('the message cache', () => {
  it('counts the cached messages; clearing keeps the unsent ones; a page loaded is cached again', async () => {
    const m = mock('?mock=signedin');
    expect((await refusal(m.invoke('cache_usage'))).code).toBe('not_signed_in');
    await m.invoke('restore_session');
    const full = (await m.invoke('cache_usage')) as CacheUsage;
    const acked = m.control.items().reduce((n, c) => n + m.control.messages(c.id).length, 0);
    expect(full.messages).toBe(acked);
    expect(full.bytes).toBeGreaterThan(45_056);
    await m.invoke('send_text', { conversationId: 'c-spike', text: 'not sent yet' });
    const cleared = (await m.invoke('clear_cache')) as CacheUsage;
    expect(cleared.messages).toBe(1); // the unsent one
    expect(cleared.bytes).toBeLessThan(full.bytes);
    expect(m.control.cacheUsage()).toEqual(cleared);
    await m.invoke('load_messages', { conversationId: 'c-spike', beforeSeq: null, limit: 50 });
    expect(m.control.cacheUsage()!.messages).toBe(1 + m.control.messages('c-spike').filter((x) => x.seq !== null).length);
  });

  it('?cache=fail: both fail with cache', async () => {
    const m = mock('?mock=signedin&cache=fail');
    await m.invoke('restore_session');
    expect((await refusal(m.invoke('cache_usage'))).code).toBe('cache');
    expect((await refusal(m.invoke('clear_cache'))).code).toBe('cache');
    m.control.failCache(false);
    expect(await m.invoke('cache_usage')).toMatchObject({ bytes: expect.any(Number) });
  });
});

describe('editing, recalling, deleting for me, replying', () => {
  const NOW = 1_700_000_000_000;
  /** Signed in; the events kept in `events`; the clock moved on by hand (`later`). */
  async function signedIn() {
    let clock = NOW;
    const events: ImEvent[] = [];
    const m = createMockBackend({
      search: '?mock=signedin',
      scripted: true,
      latencyMs: null,
      storage: null,
      quiet: true,
      history: 6,
      now: () => (clock += 1000),
      deliver: (fire) => fire(),
    });
    await m.listen((e) => events.push(e));
    await m.invoke('restore_session');
    events.length = 0;
    return { m, events, later: (ms: number) => (clock += ms) };
  }
  const page = (m: ReturnType<typeof createMockBackend>, id: string) =>
    m.invoke<MessagePage>('load_messages', { conversationId: id, beforeSeq: null, limit: 50 }).then((p) => p.messages);
  const newestOwn = async (m: ReturnType<typeof createMockBackend>, id: string) => (await page(m, id)).filter((x) => x.own && x.seq !== null).slice(-1)[0]!;

  it('says what the user may do: an own text can be edited for 48 h, recalled for 24 h; in a group the manager recalls anyone', async () => {
    const { m } = await signedIn();
    const jerry = await page(m, 'c-jerry');
    const own = jerry.filter((x) => x.own).slice(-1)[0]!;
    expect(own.editableUntil).toBe(own.timestamp + EDIT_WINDOW_MS);
    expect(own.recallableUntil).toBe(own.timestamp + RECALL_WINDOW_MS);
    const theirs = jerry.find((x) => !x.own)!;
    expect([theirs.editableUntil, theirs.recallableUntil]).toEqual([null, null]);
    const group = await page(m, 'c-group'); // (Tom manages it)
    const spike = group.find((x) => x.from === 'u-spike')!;
    expect([spike.editableUntil, spike.recallableUntil]).toEqual([null, MANAGER_RECALL_UNTIL]);
    const mineThere = group.find((x) => x.own)!; // (the manager's own: any time too)
    expect([mineThere.editableUntil, mineThere.recallableUntil]).toEqual([mineThere.timestamp + EDIT_WINDOW_MS, MANAGER_RECALL_UNTIL]);
    // The seeded group: an edited message, and a reply quoting the first one.
    expect(group.find((x) => x.editedAt !== null)?.text).toBe('I will bring snacks.');
    expect(group.slice(-1)[0]!.replyTo).toEqual({ seq: 1, fromName: 'Spike', text: 'Meeting at noon.', recalled: false });
    // Not acked yet: nothing; acked: from the time of the ack.
    const sending = await m.invoke<UiMessage>('send_text', { conversationId: 'c-spike', text: 'x' });
    expect([sending.editableUntil, sending.recallableUntil]).toEqual([null, null]);
    const acked = m.control.ack('c-spike', sending.clientId)!;
    expect(acked.editableUntil).toBe(acked.timestamp + EDIT_WINDOW_MS);
  });

  it('edit_message: the message after the edit, a messageUpdated event (and conversation, when it is the last one)', async () => {
    const { m, events } = await signedIn();
    const own = await newestOwn(m, 'c-jerry');
    const edited = await m.invoke<UiMessage>('edit_message', { conversationId: 'c-jerry', seq: own.seq, text: 'better' });
    expect(edited).toMatchObject({ clientId: own.clientId, seq: own.seq, text: 'better', editedAt: expect.any(Number) });
    expect(events.map((e) => e.kind)).toEqual(['messageUpdated', 'conversation']);
    expect(events[0]).toEqual({ kind: 'messageUpdated', message: edited });
    expect((events[1] as { conversation: ConversationItem }).conversation.lastMessage).toEqual(edited);
    // The same text again: nothing changes, no event.
    events.length = 0;
    expect(await m.invoke('edit_message', { conversationId: 'c-jerry', seq: own.seq, text: 'better' })).toEqual(edited);
    expect(events).toEqual([]);
  });

  it("edit_message refuses: another's message, a recalled one, too late, empty or too long, a seq that does not exist, offline", async () => {
    const { m, later } = await signedIn();
    const jerry = await page(m, 'c-jerry');
    const code = async (args: Record<string, unknown>) => (await refusal(m.invoke('edit_message', { conversationId: 'c-jerry', ...args }))).code;
    expect(await code({ seq: jerry.find((x) => !x.own)!.seq, text: 'x' })).toBe('not_sender');
    expect(await code({ seq: 999, text: 'x' })).toBe('message_not_found');
    const own = await newestOwn(m, 'c-jerry');
    expect(await code({ seq: own.seq, text: '  ' })).toBe('invalid_params');
    expect(await code({ seq: own.seq, text: 'x'.repeat(4097) })).toBe('text_too_long');
    later(EDIT_WINDOW_MS);
    expect(await code({ seq: own.seq, text: 'x' })).toBe('window_closed');
    m.control.recall('c-jerry', own.seq!);
    expect(await code({ seq: own.seq, text: 'x' })).toBe('not_editable');
    m.control.setOnline(false);
    expect(await code({ seq: own.seq, text: 'x' })).toBe('offline');
  });

  it('edit_message in a 1:1 chat where one blocks the other: blocked', async () => {
    const { m } = await signedIn();
    const own = await newestOwn(m, 'c-jerry');
    m.control.blockedBy('u-jerry', true);
    expect((await refusal(m.invoke('edit_message', { conversationId: 'c-jerry', seq: own.seq, text: 'x' }))).code).toBe('blocked');
  });

  it('recall_message: the text is gone, who recalled it is said; replies quoting it say it was recalled', async () => {
    const { m, events } = await signedIn();
    const own = await newestOwn(m, 'c-jerry');
    const reply = m.control.incoming('c-jerry', 'u-jerry', 'what did you say?', own.seq);
    events.length = 0;
    const recalled = await m.invoke<UiMessage>('recall_message', { conversationId: 'c-jerry', seq: own.seq });
    expect(recalled).toMatchObject({ clientId: own.clientId, recalled: true, text: '', recalledByName: 'Tom', editableUntil: null, recallableUntil: null });
    expect(events.map((e) => e.kind)).toEqual(['messageUpdated', 'conversation']); // (the last message quotes it)
    const after = await page(m, 'c-jerry');
    expect(after.find((x) => x.clientId === reply.clientId)!.replyTo).toEqual({ seq: own.seq, fromName: 'Tom', text: null, recalled: true });
    // Again: as it is, no event.
    events.length = 0;
    expect(await m.invoke('recall_message', { conversationId: 'c-jerry', seq: own.seq })).toEqual(recalled);
    expect(events).toEqual([]);
  });

  it('recall_message refuses: too late (24 h), someone else’s message outside a group one manages', async () => {
    const { m, later } = await signedIn();
    const own = await newestOwn(m, 'c-jerry');
    const theirs = (await page(m, 'c-jerry')).find((x) => !x.own)!;
    expect((await refusal(m.invoke('recall_message', { conversationId: 'c-jerry', seq: theirs.seq }))).code).toBe('not_sender');
    const spike = (await page(m, 'c-group')).find((x) => x.from === 'u-spike')!;
    expect(await m.invoke('recall_message', { conversationId: 'c-group', seq: spike.seq })).toMatchObject({ recalled: true, recalledByName: 'Tom' });
    later(RECALL_WINDOW_MS);
    expect((await refusal(m.invoke('recall_message', { conversationId: 'c-jerry', seq: own.seq }))).code).toBe('window_closed');
    // A group's manager: any of its messages at any time, their own too (it keeps what it replied to).
    const reply = (await page(m, 'c-group')).find((x) => x.replyTo !== null)!;
    expect(await m.invoke('recall_message', { conversationId: 'c-group', seq: reply.seq })).toMatchObject({ recalled: true, replyTo: { seq: 1 } });
    const ownInGroup = (await page(m, 'c-group')).find((x) => x.own)!;
    expect(await m.invoke('recall_message', { conversationId: 'c-group', seq: ownInGroup.seq })).toMatchObject({ recalled: true });
    // The group's manager changes: Tom may no longer recall the others'.
    m.control.setManager('c-group', 'u-jerry');
    const jerrys = (await page(m, 'c-group')).find((x) => x.from === 'u-jerry' && !x.recalled)!;
    expect((await refusal(m.invoke('recall_message', { conversationId: 'c-group', seq: jerrys.seq }))).code).toBe('not_sender');
  });

  it('delete_for_me: gone from this device only (pages, the list, the cache, the search); a failed one is discarded; one being sent refused', async () => {
    const { m, events } = await signedIn();
    const before = await page(m, 'c-jerry');
    const last = before.slice(-1)[0]!;
    const usage = (await m.invoke<CacheUsage>('cache_usage')).messages;
    expect(await m.invoke('delete_for_me', { conversationId: 'c-jerry', clientId: last.clientId })).toBeNull();
    expect((await page(m, 'c-jerry')).map((x) => x.clientId)).toEqual(before.slice(0, -1).map((x) => x.clientId));
    expect(events.map((e) => e.kind)).toEqual(['conversation']);
    expect(m.control.items().find((c) => c.id === 'c-jerry')!.lastMessage?.clientId).toBe(before.slice(-2)[0]!.clientId);
    expect((await m.invoke<CacheUsage>('cache_usage')).messages).toBe(usage - 1);
    expect(await m.invoke('search_messages', { query: 'single tick' })).toEqual([]);
    expect((await refusal(m.invoke('delete_for_me', { conversationId: 'c-jerry', clientId: last.clientId }))).code).toBe('message_not_found');
    // The seq is not reused.
    expect(m.control.incoming('c-jerry', 'u-jerry', 'next').seq).toBe(last.seq! + 1);

    const sending = await m.invoke<UiMessage>('send_text', { conversationId: 'c-spike', text: 'x' });
    expect((await refusal(m.invoke('delete_for_me', { conversationId: 'c-spike', clientId: sending.clientId }))).code).toBe('invalid_params');
    m.control.fail('c-spike', sending.clientId);
    expect(await m.invoke('delete_for_me', { conversationId: 'c-spike', clientId: sending.clientId })).toBeNull();
    expect(m.control.messages('c-spike').some((x) => x.clientId === sending.clientId)).toBe(false);
    expect((await refusal(m.invoke('retry_send', { conversationId: 'c-spike', clientId: sending.clientId }))).code).toBe('invalid_params');
  });

  it('send_text with replyTo: the message quotes it (an unknown seq is message_not_found); the others edit and recall theirs', async () => {
    const { m, events } = await signedIn();
    const theirs = (await page(m, 'c-jerry')).filter((x) => !x.own).slice(-1)[0]!;
    const sent = await m.invoke<UiMessage>('send_text', { conversationId: 'c-jerry', text: 'yes', replyTo: theirs.seq });
    expect(sent.replyTo).toEqual({ seq: theirs.seq, fromName: 'Jerry', text: theirs.text, recalled: false });
    expect(await m.invoke<UiMessage>('send_text', { conversationId: 'c-jerry', text: 'no reply', replyTo: null })).toMatchObject({ replyTo: null });
    expect((await refusal(m.invoke('send_text', { conversationId: 'c-jerry', text: 'x', replyTo: 999 }))).code).toBe('message_not_found');
    events.length = 0;
    const edited = m.control.edit('c-jerry', theirs.seq!, 'changed my mind')!;
    expect(events[0]).toEqual({ kind: 'messageUpdated', message: edited });
    expect(m.control.recall('c-jerry', theirs.seq!)).toMatchObject({ recalled: true, recalledByName: 'Jerry' });
    expect(m.control.recall('c-jerry', theirs.seq!)).toBeNull(); // (already)
  });
});
