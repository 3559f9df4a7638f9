// @vitest-environment happy-dom
// The Settings dialog: opened from the main screen (the gear, or Ctrl+,), the account, changing
// the password, and the devices signed in to the account (signing one out, with a confirmation).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { SessionInfo } from '../../lib/api';
import { byId, key, render, settle, showMain, stubResizeObserver, type, unmountAll } from './dom';

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: ok,
    loadMessages: async () => ({ messages: [], hasMore: false }),
    listConversations: async () => [],
    listSessions: vi.fn(),
    revokeSession: vi.fn(),
    changePassword: vi.fn(),
    setNotificationText: vi.fn(),
    // (The desktop settings: settingsDesktop.test.ts.)
    desktopSettings: async () => ({
      closeToTray: false,
      startAtLogin: false,
      notificationsMutedUntil: null,
      trayAvailable: true,
      hardwareAcceleration: { enabled: false, active: false },
    }),
    // (The storage and the updates: updates.test.ts.)
    cacheUsage: async () => ({ bytes: 1_234_567, messages: 321 }),
    updateStatus: async () => ({ currentVersion: '1', autoCheck: true, checkedAt: null, state: { kind: 'idle' } }),
  };
});

const api = await import('../../lib/api');
const { app } = await import('../../lib/store.svelte');
const { formatDate } = await import('../../lib/time');
const { PREFERENCES_KEY, PreferenceStore } = await import('../../lib/stores/preferences.svelte');
const { ToastStore } = await import('../../lib/stores/toasts.svelte');
const MainScreen = (await import('../MainScreen.svelte')).default;
const SettingsDialog = (await import('../SettingsDialog.svelte')).default;
const Toasts = (await import('../Toasts.svelte')).default;

const listSessions = vi.mocked(api.listSessions);
const revokeSession = vi.mocked(api.revokeSession);
const changePassword = vi.mocked(api.changePassword);
const setNotificationText = vi.mocked(api.setNotificationText);

const DAY = 86_400_000;
const now = Date.UTC(2026, 2, 3, 12);
const sessions: SessionInfo[] = [
  { id: '41d7a3e90b6c2f58', device: 'Gtedx IM on Linux', createdAt: now, current: true },
  { id: '9c1e0f4b7a2d8e63', device: 'Gtedx IM on Android', createdAt: now - 2 * DAY, current: false },
  { id: '0123456789abcdef', device: '', createdAt: now - 40 * DAY, current: false },
];

beforeEach(() => {
  stubResizeObserver(['conversation-list']);
  showMain(app, []);
  app.account = { uid: 'u-tom', username: 'tom', displayName: 'Tom Cat', serverUrl: 'wss://chat.example.org/ws' };
  app.devices.reset();
  app.settingsOpen = false;
  listSessions.mockReset();
  listSessions.mockResolvedValue(structuredClone(sessions));
  revokeSession.mockReset();
  revokeSession.mockResolvedValue(null);
  changePassword.mockReset();
  changePassword.mockResolvedValue(null);
  localStorage.clear();
  app.preferences.notificationText = true;
  setNotificationText.mockReset();
  setNotificationText.mockResolvedValue(null);
});
afterEach(() => {
  unmountAll();
  vi.unstubAllGlobals();
  for (const toast of app.toasts) app.dismissToast(toast.id);
});

async function dialog() {
  const el = render(SettingsDialog, { onclose: () => (app.settingsOpen = false) });
  await settle();
  return el;
}
const rows = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="device"]')];
const row = (el: HTMLElement, id: string) => el.querySelector<HTMLElement>(`[data-testid="device"][data-session-id="${id}"]`);

describe('opening Settings', () => {
  it('the gear beside Blocked users and Sign out opens an accessible dialog; Esc closes it', async () => {
    const el = render(MainScreen, {});
    const gear = byId(el, 'settings-open')!;
    expect(gear.getAttribute('aria-label')).toBe('Settings');
    expect(gear.getAttribute('aria-haspopup')).toBe('dialog');
    expect(gear.title).toBe('Settings (Ctrl+,)');
    gear.focus();
    gear.click();
    await settle();
    const d = byId(el, 'settings-dialog')!;
    expect(d.getAttribute('role')).toBe('dialog');
    expect(d.getAttribute('aria-modal')).toBe('true');
    expect(document.getElementById(d.getAttribute('aria-labelledby')!)?.textContent).toBe('Settings');
    expect(document.activeElement).toBe(byId(el, 'settings-close'));
    key(document.activeElement!, 'Escape');
    expect(byId(el, 'settings-dialog')).toBeNull();
    expect(document.activeElement).toBe(gear);
  });

  it('Ctrl+, opens it (not while another dialog is open)', async () => {
    const el = render(MainScreen, {});
    byId(el, 'sign-out')!.click();
    flushSync();
    key(document.body, ',', false);
    document.body.dispatchEvent(new KeyboardEvent('keydown', { key: ',', ctrlKey: true, bubbles: true, cancelable: true }));
    flushSync();
    expect(byId(el, 'settings-dialog')).toBeNull();
    byId(el, 'sign-out-cancel')!.click();
    flushSync();

    const e = new KeyboardEvent('keydown', { key: ',', ctrlKey: true, bubbles: true, cancelable: true });
    document.body.dispatchEvent(e);
    await settle();
    expect(e.defaultPrevented).toBe(true);
    expect(byId(el, 'settings-dialog')).not.toBeNull();
  });

  it('closes when the account signs out', async () => {
    const el = render(MainScreen, {});
    byId(el, 'settings-open')!.click();
    await settle();
    app.session.signedOutByServer('this session was signed out from another device');
    flushSync();
    expect(app.settingsOpen).toBe(false);
    expect(app.devices.list).toEqual([]);
    expect(el.querySelector('[data-testid="settings-dialog"]')).toBeNull();
  });
});

describe('Account', () => {
  it('shows the display name, username and server, read-only', async () => {
    const el = await dialog();
    expect(byId(el, 'settings-display-name')?.textContent).toBe('Tom Cat');
    expect(byId(el, 'settings-username')?.textContent).toBe('@tom');
    expect(byId(el, 'settings-server')?.textContent).toBe('wss://chat.example.org/ws');
    expect(byId(el, 'settings-account')!.querySelector('input:not([hidden]), textarea')).toBeNull();
  });
});

describe('Notifications', () => {
  it('a checkbox, on by default: turning it off is sent to the backend and remembered for the next start', async () => {
    const el = await dialog();
    const box = byId(el, 'settings-notification-text') as HTMLInputElement;
    const section = box.closest('section')!;
    expect(document.getElementById(section.getAttribute('aria-labelledby')!)?.textContent).toBe('Notifications');
    expect(box.type).toBe('checkbox');
    expect(box.checked).toBe(true);
    expect(box.closest('label')?.textContent?.trim()).toBe('Show message text in notifications');
    expect(document.getElementById(box.getAttribute('aria-describedby')!)?.textContent).toBe(
      'Off: notifications say only who wrote, not what.',
    );

    box.click();
    await settle();
    expect(setNotificationText.mock.calls).toEqual([[{ show: false }]]);
    expect(box.checked).toBe(false);
    expect(JSON.parse(localStorage.getItem(PREFERENCES_KEY)!)).toEqual({ notificationText: false, theme: 'system', language: 'system' });
    expect(new PreferenceStore(new ToastStore()).notificationText).toBe(false);

    box.click();
    await settle();
    expect(setNotificationText.mock.calls).toEqual([[{ show: false }], [{ show: true }]]);
    expect(app.preferences.notificationText).toBe(true);
    expect(JSON.parse(localStorage.getItem(PREFERENCES_KEY)!)).toEqual({ notificationText: true, theme: 'system', language: 'system' });
  });
});

describe('Devices', () => {
  it('lists the devices: names ("Unknown device" for none), when they signed in, "This device" on this one', async () => {
    const el = await dialog();
    expect(listSessions).toHaveBeenCalledTimes(1);
    const list = rows(el);
    expect(list.map((r) => byId(r, 'device-name')?.textContent)).toEqual(['Gtedx IM on Linux', 'Gtedx IM on Android', 'Unknown device']);
    expect(list.map((r) => byId(r, 'device-this') !== null)).toEqual([true, false, false]);
    expect(byId(list[0], 'device-this')?.textContent).toBe('This device');
    // This device has no Sign out (that is the main Sign out); the others do, labelled with the device.
    expect(byId(list[0], 'device-sign-out')).toBeNull();
    expect(byId(list[1], 'device-sign-out')?.getAttribute('aria-label')).toBe('Sign out Gtedx IM on Android');
    expect(byId(list[2], 'device-sign-out')?.getAttribute('aria-label')).toBe('Sign out Unknown device');
    const since = byId(list[1], 'device-since')!;
    expect(since.tagName).toBe('TIME');
    expect(since.getAttribute('datetime')).toBe(new Date(now - 2 * DAY).toISOString());
    expect(since.textContent?.trim()).toBe(`Signed in on ${formatDate(now - 2 * DAY, 'en')}`);
    expect(byId(el, 'devices-none')).toBeNull();
  });

  it('while loading: a status line; when loading fails: why, and Try again', async () => {
    let answer: (s: SessionInfo[]) => void = () => {};
    listSessions.mockImplementationOnce(() => new Promise((r) => (answer = r)));
    const el = await dialog();
    expect(byId(el, 'devices-loading')?.textContent).toContain('Loading devices…');
    answer(structuredClone(sessions));
    await settle();
    expect(byId(el, 'devices-loading')).toBeNull();
    expect(rows(el)).toHaveLength(3);

    unmountAll();
    app.devices.reset();
    listSessions.mockRejectedValueOnce({ code: 'offline', message: 'not connected to the server' });
    const failed = await dialog();
    const error = byId(failed, 'devices-error')!;
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toContain('Your devices could not be loaded. You are offline. Try again once you are connected.');
    expect(rows(failed)).toHaveLength(0);
    byId(failed, 'devices-retry')!.click();
    await settle();
    expect(byId(failed, 'devices-error')).toBeNull();
    expect(rows(failed)).toHaveLength(3);
  });

  it('signs a device out after a confirmation; its row goes, the focus goes to the section', async () => {
    const el = await dialog();
    const button = byId(row(el, '9c1e0f4b7a2d8e63')!, 'device-sign-out')!;
    button.focus();
    button.click();
    flushSync();
    let confirm = byId(document.body, 'revoke-session-dialog')!;
    expect(confirm.getAttribute('role')).toBe('alertdialog');
    expect(document.getElementById(confirm.getAttribute('aria-labelledby')!)?.textContent).toBe('Sign out “Gtedx IM on Android”?');
    expect(confirm.textContent).toContain('Signing in there again needs your password.');
    expect(document.activeElement).toBe(byId(document.body, 'revoke-session-cancel')); // the safe choice

    // Cancel: nothing happens. (Esc closes the confirmation only, not Settings.)
    key(document.activeElement!, 'Escape');
    expect(byId(document.body, 'revoke-session-dialog')).toBeNull();
    expect(byId(el, 'settings-dialog')).not.toBeNull();
    expect(revokeSession).not.toHaveBeenCalled();
    expect(document.activeElement).toBe(button);

    button.click();
    flushSync();
    confirm = byId(document.body, 'revoke-session-dialog')!;
    byId(document.body, 'revoke-session-confirm')!.click();
    await settle();
    expect(revokeSession).toHaveBeenCalledWith({ sessionId: '9c1e0f4b7a2d8e63' });
    expect(byId(document.body, 'revoke-session-dialog')).toBeNull();
    expect(row(el, '9c1e0f4b7a2d8e63')).toBeNull();
    expect(rows(el)).toHaveLength(2);
    expect(document.activeElement?.id).toBe('settings-devices-heading');
    expect(byId(el, 'device-revoke-error')).toBeNull();
  });

  it('a device signed out already (session_not_found) just goes from the list', async () => {
    revokeSession.mockRejectedValueOnce({ code: 'session_not_found', message: 'no session of this account' });
    const el = await dialog();
    byId(row(el, '0123456789abcdef')!, 'device-sign-out')!.click();
    flushSync();
    byId(document.body, 'revoke-session-confirm')!.click();
    await settle();
    expect(row(el, '0123456789abcdef')).toBeNull();
    expect(byId(el, 'device-revoke-error')).toBeNull();
  });

  it('a sign-out that fails keeps the row and says why', async () => {
    revokeSession.mockRejectedValueOnce({ code: 'offline', message: 'not connected to the server' });
    const el = await dialog();
    byId(row(el, '9c1e0f4b7a2d8e63')!, 'device-sign-out')!.click();
    flushSync();
    byId(document.body, 'revoke-session-confirm')!.click();
    await settle();
    expect(row(el, '9c1e0f4b7a2d8e63')).not.toBeNull();
    const error = byId(el, 'device-revoke-error')!;
    expect(error.dataset.code).toBe('offline');
    expect(error.textContent?.trim()).toBe('“Gtedx IM on Android” could not be signed out. You are offline. Try again once you are connected.');
  });

  it('with only this device: says no other device is signed in', async () => {
    listSessions.mockResolvedValueOnce([sessions[0]]);
    const el = await dialog();
    expect(byId(el, 'devices-none')?.textContent).toBe('No other device is signed in to your account.');
  });
});

describe('Password', () => {
  const fields = (el: HTMLElement) => ({
    current: byId(el, 'password-current') as HTMLInputElement,
    next: byId(el, 'password-new') as HTMLInputElement,
    repeat: byId(el, 'password-repeat') as HTMLInputElement,
  });
  async function fill(el: HTMLElement, current: string, next: string, repeat = next) {
    const f = fields(el);
    type(f.current, current);
    type(f.next, next);
    type(f.repeat, repeat);
    byId(el, 'password-submit')!.click();
    await settle();
  }

  it('changes it: the fields clear, a toast says the other devices were signed out, and they leave the list', async () => {
    const el = await dialog();
    const toasts = render(Toasts, {});
    const f = fields(el);
    expect(f.current.autocomplete).toBe('current-password');
    expect(f.next.autocomplete).toBe('new-password');
    expect(document.querySelector(`label[for="${f.repeat.id}"]`)?.textContent).toBe('Repeat new password');
    await fill(el, 'old-password', 'new-password');
    expect(changePassword).toHaveBeenCalledWith({ oldPassword: 'old-password', newPassword: 'new-password' });
    expect([f.current.value, f.next.value, f.repeat.value]).toEqual(['', '', '']);
    expect(byId(el, 'password-error')).toBeNull();
    const toast = byId(toasts, 'toast')!;
    expect(toast.textContent?.trim()).toBe('Password changed. Your other devices were signed out.');
    expect(toast.dataset.kind).toBe('info');
    expect(toast.getAttribute('role')).toBe('status');
    expect(rows(el).map((r) => r.dataset.sessionId)).toEqual(['41d7a3e90b6c2f58']);
  });

  it('wrong_credentials: "The current password is wrong." at the current password, which gets the focus', async () => {
    changePassword.mockRejectedValueOnce({ code: 'wrong_credentials', message: 'the current password is wrong' });
    const el = await dialog();
    await fill(el, 'not-it', 'new-password');
    const error = byId(el, 'password-error')!;
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.dataset.code).toBe('wrong_credentials');
    expect(error.textContent?.trim()).toBe('The current password is wrong.');
    const f = fields(el);
    expect(f.current.getAttribute('aria-invalid')).toBe('true');
    expect(f.current.getAttribute('aria-describedby')).toBe(error.id);
    expect(document.activeElement).toBe(f.current);
    expect(f.next.value).toBe('new-password'); // kept, to try again
    expect(app.toasts).toEqual([]);
    expect(rows(el)).toHaveLength(3); // nobody was signed out
    // Typing in it again clears the message.
    type(f.current, 'old-password');
    expect(byId(el, 'password-error')).toBeNull();
  });

  it('rate_limited: the UI wording, with the backend message (when to try again) as the detail', async () => {
    changePassword.mockRejectedValueOnce({ code: 'rate_limited', message: 'too many wrong passwords; try again in 8 s' });
    const el = await dialog();
    await fill(el, 'not-it', 'new-password');
    expect(byId(el, 'password-error')?.textContent).toContain('Too many wrong passwords. Wait a while, then try again.');
    expect(byId(el, 'password-error-detail')?.textContent).toBe('Too many wrong passwords; try again in 8 s.');
  });

  it('checks the form first: a new password of at least 8 bytes, typed the same twice', async () => {
    const el = await dialog();
    const f = fields(el);
    await fill(el, 'old-password', 'short');
    expect(byId(el, 'password-error')?.textContent?.trim()).toBe(
      'The new password needs at least 8 bytes (a letter or digit is 1 byte, a Chinese character 3).',
    );
    expect(f.next.getAttribute('aria-invalid')).toBe('true');
    expect(f.next.getAttribute('aria-describedby')).toBe('settings-password-error settings-new-password-hint');
    expect(document.activeElement).toBe(f.next);

    await fill(el, 'old-password', 'new-password', 'new-passwrod');
    expect(byId(el, 'password-error')?.textContent?.trim()).toBe('The two new passwords are not the same.');
    expect(document.activeElement).toBe(f.repeat);

    await fill(el, '', 'new-password');
    expect(byId(el, 'password-error')?.textContent?.trim()).toBe('Enter your current password.');
    expect(document.activeElement).toBe(f.current);
    expect(changePassword).not.toHaveBeenCalled();
  });
});
