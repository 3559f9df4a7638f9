// The desktop settings of the Settings dialog (`DesktopSettingsStore`) against a fake backend:
// loading, the checkboxes (shown at once, put back when refused, with a toast), hardware
// acceleration (the saved choice and what the running app uses; restarting the app), pausing the
// notifications, the tray's `desktopSettings` event (routed by the app, signed in or not), and
// answers that cross an event or each other on their way.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DesktopSettings, ImEvent } from '../api';
import { DesktopSettingsStore, isPaused } from '../stores/desktopSettings.svelte';
import { ToastStore } from '../stores/toasts.svelte';

const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
const { responses, argsOf, count } = backend;

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  return backend.api(real, {
    bootstrap: async () => ({
      info: { version: '1', profile: null, defaultServerUrl: 'ws://x', maxTextChars: 4096 },
      account: null,
      error: null,
      conversations: [],
      connection: { state: 'offline' },
    }),
  });
});

const HOUR = 3_600_000;
const base: DesktopSettings = {
  closeToTray: false,
  startAtLogin: false,
  notificationsMutedUntil: null,
  trayAvailable: true,
  hardwareAcceleration: { enabled: false, active: false },
};
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A promise to answer later, by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

let truth: DesktopSettings;
beforeEach(() => {
  truth = { ...base };
  backend.reset({
    desktop_settings: () => ({ ...truth }),
    set_close_to_tray: (a: { enabled: boolean }) => ({ ...(truth = { ...truth, closeToTray: a.enabled }) }),
    set_start_at_login: (a: { enabled: boolean }) => ({ ...(truth = { ...truth, startAtLogin: a.enabled }) }),
    mute_notifications: (a: { span: string }) => ({
      ...(truth = { ...truth, notificationsMutedUntil: a.span === 'off' ? null : 1_000_000 + HOUR }),
    }),
    set_hardware_acceleration: (a: { enabled: boolean }) => ({
      ...(truth = { ...truth, hardwareAcceleration: { enabled: a.enabled, active: truth.hardwareAcceleration!.active } }),
    }),
    restart_app: () => null,
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

describe('loading', () => {
  it('nothing until loaded; then the backend state', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    expect([store.settings, store.loaded, store.loading]).toEqual([null, false, false]);
    const loading = store.load();
    expect(store.loading).toBe(true);
    expect(await loading).toBe(true);
    expect(store.settings).toEqual(base);
    expect([store.loaded, store.loading, store.failed]).toEqual([true, false, false]);
  });

  it('a failed first load: a toast and `failed` (the dialog offers Try again); a later one clears it', async () => {
    responses.desktop_settings = () => {
      throw { code: 'internal', message: 'boom' };
    };
    const toasts = new ToastStore();
    const store = new DesktopSettingsStore(toasts);
    expect(await store.load()).toBe(false);
    expect(store.failed).toBe(true);
    expect(store.settings).toBeNull();
    expect(toasts.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
    responses.desktop_settings = () => ({ ...truth });
    expect(await store.load()).toBe(true);
    expect(store.failed).toBe(false);
    expect(store.settings).toEqual(base);
  });
});

describe('the checkboxes', () => {
  it('close to tray: shown at once, sent, then as the backend answered', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const answer = deferred<DesktopSettings>();
    responses.set_close_to_tray = () => answer.promise;
    const done = store.setCloseToTray(true);
    expect(store.settings?.closeToTray).toBe(true);
    expect(argsOf('set_close_to_tray')).toEqual([{ enabled: true }]);
    answer.resolve({ ...base, closeToTray: true });
    expect(await done).toBe(true);
    expect(store.settings).toEqual({ ...base, closeToTray: true });
  });

  it('start at sign-in refused (autostart): back to off, and a toast that says what failed', async () => {
    responses.set_start_at_login = () => {
      throw { code: 'autostart', message: 'could not write ~/.config/autostart/gtedx-im.desktop: Permission denied (os error 13)' };
    };
    const toasts = new ToastStore();
    const store = new DesktopSettingsStore(toasts);
    await store.load();
    const done = store.setStartAtLogin(true);
    expect(store.settings?.startAtLogin).toBe(true);
    expect(await done).toBe(false);
    expect(store.settings?.startAtLogin).toBe(false);
    expect(toasts.toasts.map((t) => t.text)).toEqual([
      'Gtedx IM could not change whether it starts when you sign in. Could not write ~/.config/autostart/gtedx-im.desktop: Permission denied (os error 13).',
    ]);
  });

  it('another refusal is worded from its code', async () => {
    responses.set_close_to_tray = () => {
      throw { code: 'invalid_params', message: 'enabled must be true or false' };
    };
    const toasts = new ToastStore();
    const store = new DesktopSettingsStore(toasts);
    await store.load();
    expect(await store.setCloseToTray(true)).toBe(false);
    expect(store.settings?.closeToTray).toBe(false);
    expect(toasts.toasts[0].text).toBe('The server refused a request from this app as invalid. Try again; if it keeps happening, update the app.');
  });

  it('clicked twice quickly: the second click shows, whatever order the answers come in', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const first = deferred<DesktopSettings>();
    const second = deferred<DesktopSettings>();
    const answers = [first, second];
    responses.set_close_to_tray = (a: { enabled: boolean }) => {
      truth = { ...truth, closeToTray: a.enabled };
      return answers.shift()!.promise;
    };
    void store.setCloseToTray(true);
    void store.setCloseToTray(false);
    expect(store.settings?.closeToTray).toBe(false);
    second.resolve({ ...base, closeToTray: false });
    await flush();
    expect(store.settings?.closeToTray).toBe(false);
    first.resolve({ ...base, closeToTray: true }); // older: dropped
    await flush();
    expect(store.settings?.closeToTray).toBe(false);
    // Two on their way at once: the store asked again once both had answered.
    expect(count('desktop_settings')).toBe(2);
    expect(store.settings).toEqual(truth);
  });
});

describe('hardware acceleration', () => {
  it('the saved choice shows at once and is sent; what the app uses stays until a restart', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const answer = deferred<DesktopSettings>();
    responses.set_hardware_acceleration = () => answer.promise;
    const done = store.setHardwareAcceleration(true);
    expect(store.settings?.hardwareAcceleration).toEqual({ enabled: true, active: false });
    expect(store.changing('hardwareAcceleration')).toBe(true);
    expect(store.changing('closeToTray')).toBe(false);
    expect(argsOf('set_hardware_acceleration')).toEqual([{ enabled: true }]);
    answer.resolve({ ...base, hardwareAcceleration: { enabled: true, active: false } });
    expect(await done).toBe(true);
    expect(store.changing('hardwareAcceleration')).toBe(false);
    expect(store.settings).toEqual({ ...base, hardwareAcceleration: { enabled: true, active: false } });
  });

  it('refused: back to what the backend said, and a toast', async () => {
    responses.set_hardware_acceleration = () => {
      throw { code: 'invalid_params', message: 'enabled must be true or false' };
    };
    const toasts = new ToastStore();
    const store = new DesktopSettingsStore(toasts);
    await store.load();
    expect(await store.setHardwareAcceleration(true)).toBe(false);
    expect(store.settings?.hardwareAcceleration).toEqual({ enabled: false, active: false });
    expect(toasts.toasts).toHaveLength(1);
  });

  it('where it does not apply (null) it stays null', async () => {
    truth = { ...base, hardwareAcceleration: null };
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    expect(store.settings?.hardwareAcceleration).toBeNull();
    const answer = deferred<DesktopSettings>();
    responses.set_hardware_acceleration = () => answer.promise;
    void store.setHardwareAcceleration(true);
    expect(store.settings?.hardwareAcceleration).toBeNull();
    answer.reject({ code: 'invalid_params', message: 'not here' });
    await flush();
    expect(store.settings?.hardwareAcceleration).toBeNull();
  });

  it('an answer without it, or with a malformed one, is not a state: dropped', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const { hardwareAcceleration: _none, ...without } = truth;
    responses.set_close_to_tray = () => without;
    await store.setCloseToTray(true);
    expect(store.settings).toEqual(base);
    responses.set_close_to_tray = () => ({ ...truth, closeToTray: true, hardwareAcceleration: { enabled: 'yes', active: false } });
    await store.setCloseToTray(true);
    expect(store.settings).toEqual(base);
  });

  it('restarting: restart_app, `restarting` while on its way (it may never answer), once at a time', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const never = deferred<null>();
    responses.restart_app = () => never.promise;
    const restarting = store.restart();
    expect(store.restarting).toBe(true);
    expect(argsOf('restart_app')).toEqual([undefined]);
    expect(await store.restart()).toBe(false); // (one on its way already)
    expect(count('restart_app')).toBe(1);
    // Nothing else waits for it.
    expect(await store.setHardwareAcceleration(true)).toBe(true);
    expect(await store.load()).toBe(true);
    never.resolve(null);
    expect(await restarting).toBe(true);
    expect(store.restarting).toBe(false);
  });

  it('a refused restart: a toast, and Restart can be tried again', async () => {
    responses.restart_app = () => {
      throw { code: 'internal', message: 'could not start a new process' };
    };
    const toasts = new ToastStore();
    const store = new DesktopSettingsStore(toasts);
    await store.load();
    expect(await store.restart()).toBe(false);
    expect(store.restarting).toBe(false);
    expect(toasts.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
  });
});

describe('pausing notifications', () => {
  it('for an hour, then resumed; `muting` while on its way', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const pausing = store.mute('hour');
    expect(store.muting).toBe(true);
    await pausing;
    expect(store.muting).toBe(false);
    expect(argsOf('mute_notifications')).toEqual([{ span: 'hour' }]);
    expect(store.settings?.notificationsMutedUntil).toBe(1_000_000 + HOUR);
    expect(isPaused(store.settings, 1_000_000)).toBe(true);
    expect(isPaused(store.settings, 1_000_000 + HOUR)).toBe(false); // its time has come
    await store.mute('off');
    expect(argsOf('mute_notifications')).toEqual([{ span: 'hour' }, { span: 'off' }]);
    expect(store.settings?.notificationsMutedUntil).toBeNull();
    expect(isPaused(store.settings, 0)).toBe(false);
    expect(isPaused(null, 0)).toBe(false);
  });

  it('a refusal is a toast, and nothing changes', async () => {
    responses.mute_notifications = () => {
      throw { code: 'invalid_params', message: 'span must be hour, tomorrow or off' };
    };
    const toasts = new ToastStore();
    const store = new DesktopSettingsStore(toasts);
    await store.load();
    expect(await store.mute('tomorrow')).toBe(false);
    expect(store.settings).toEqual(base);
    expect(toasts.toasts).toHaveLength(1);
  });
});

describe('the tray changes the pause: the desktopSettings event', () => {
  it('replaces the state (also before any load)', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    truth = { ...base, notificationsMutedUntil: 5 * HOUR };
    store.event({ ...truth });
    expect(store.settings).toEqual(truth);
    await flush();
    expect(store.settings).toEqual(truth);
  });

  it('an answer computed before the event, arriving after it, does not undo it', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const answer = deferred<DesktopSettings>();
    responses.set_close_to_tray = (a: { enabled: boolean }) => {
      truth = { ...truth, closeToTray: a.enabled };
      return answer.promise;
    };
    void store.setCloseToTray(true);
    const stale = { ...truth }; // the backend answered before the tray paused
    truth = { ...truth, notificationsMutedUntil: 7 * HOUR };
    store.event({ ...truth });
    expect(store.settings).toEqual({ ...truth }); // the change on its way still shows
    answer.resolve(stale);
    await flush();
    expect(store.settings).toEqual(truth);
    expect(isPaused(store.settings, 0)).toBe(true);
  });

  it('an event older than an answer already shown is put right', async () => {
    const store = new DesktopSettingsStore(new ToastStore());
    await store.load();
    const before = { ...truth }; // the tray's event, sent before the change below
    await store.setCloseToTray(true);
    store.event(before);
    await flush();
    expect(store.settings).toEqual({ ...base, closeToTray: true });
  });

  it('the app routes it to the store, signed in or not', async () => {
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
    vi.resetModules();
    const { createApp } = await import('../store.svelte');
    const app = createApp();
    await app.boot();
    app.dispose();
    expect(app.phase).toBe('auth');
    truth = { ...base, closeToTray: true, notificationsMutedUntil: 9 * HOUR };
    const event: ImEvent = { kind: 'desktopSettings', settings: { ...truth } };
    backend.emit(event);
    expect(app.desktop.settings).toEqual(truth);
  });
});
