// @vitest-environment happy-dom
// The Settings dialog's appearance (theme, language), desktop (close to tray, start at sign-in,
// hardware acceleration and the restart that applies it), pausing the notifications and About,
// against the mock backend's desktop settings. (In Chinese: settingsDesktopZh.test.ts.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { DesktopSettings } from '../../lib/api';
import type { MockBackend } from '../../lib/mock';
import { byId, render, settle, showMain, stubResizeObserver, unmountAll } from './dom';

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: ok,
    setNotificationText: ok,
    listSessions: async () => [],
    desktopSettings: vi.fn(),
    setCloseToTray: vi.fn(),
    setStartAtLogin: vi.fn(),
    muteNotifications: vi.fn(),
    setHardwareAcceleration: vi.fn(),
    restartApp: vi.fn(),
    // (The storage and the updates: updates.test.ts.)
    cacheUsage: async () => ({ bytes: 1_234_567, messages: 321 }),
    updateStatus: async () => ({ currentVersion: '1', autoCheck: true, checkedAt: null, state: { kind: 'idle' } }),
  };
});

const api = await import('../../lib/api');
const { createMockBackend, tomorrowMorning } = await import('../../lib/mock');
const { app } = await import('../../lib/store.svelte');
const { PREFERENCES_KEY } = await import('../../lib/stores/preferences.svelte');
const { formatFull } = await import('../../lib/time');
const { expectNoAxeViolations } = await import('../../test/axe');
const SettingsDialog = (await import('../SettingsDialog.svelte')).default;

const desktopSettings = vi.mocked(api.desktopSettings);
const setCloseToTray = vi.mocked(api.setCloseToTray);
const setStartAtLogin = vi.mocked(api.setStartAtLogin);
const muteNotifications = vi.mocked(api.muteNotifications);
const setHardwareAcceleration = vi.mocked(api.setHardwareAcceleration);
const restartApp = vi.mocked(api.restartApp);

/** 10:00 local time on 3 March 2026. */
const NOW = new Date(2026, 2, 3, 10, 0).getTime();
let mock: MockBackend;
let reload: ReturnType<typeof vi.fn<() => void>>;

/** The mock backend answers the desktop commands (`options`: its desktop at start). */
function useMock(options: Parameters<typeof createMockBackend>[0] = {}) {
  mock = createMockBackend({ scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, ...options });
  desktopSettings.mockImplementation(() => mock.invoke('desktop_settings'));
  setCloseToTray.mockImplementation((a) => mock.invoke('set_close_to_tray', a));
  setStartAtLogin.mockImplementation((a) => mock.invoke('set_start_at_login', a));
  muteNotifications.mockImplementation((a) => mock.invoke('mute_notifications', a));
  setHardwareAcceleration.mockImplementation((a) => mock.invoke('set_hardware_acceleration', a));
  restartApp.mockImplementation(() => mock.invoke('restart_app'));
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  stubResizeObserver(['conversation-list']);
  showMain(app, []);
  app.info = { version: '1.4.2', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.now = NOW;
  app.settingsOpen = false;
  localStorage.clear();
  app.preferences.theme = 'system';
  app.preferences.language = 'system';
  document.documentElement.removeAttribute('data-theme');
  for (const f of [desktopSettings, setCloseToTray, setStartAtLogin, muteNotifications, setHardwareAcceleration, restartApp]) f.mockReset();
  useMock();
  reload = vi.fn<() => void>();
  vi.spyOn(window.location, 'reload').mockImplementation(reload);
});
afterEach(() => {
  unmountAll();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  for (const toast of app.toasts) app.dismissToast(toast.id);
});

async function dialog() {
  const el = render(SettingsDialog, { onclose: () => (app.settingsOpen = false) });
  await settle();
  return el;
}
const input = (el: HTMLElement, id: string) => byId(el, id) as HTMLInputElement;
const labelOf = (box: HTMLElement) => box.closest('label')?.textContent?.trim();
const saved = () => JSON.parse(localStorage.getItem(PREFERENCES_KEY) ?? 'null');
const radios = (group: HTMLElement) => [...group.querySelectorAll<HTMLInputElement>('input[type="radio"]')];

describe('Appearance: the theme', () => {
  it('three radios in a group named Theme; System is chosen at first', async () => {
    const el = await dialog();
    const group = byId(el, 'settings-theme')!;
    expect(group.tagName).toBe('FIELDSET');
    expect(group.querySelector('legend')?.textContent).toBe('Theme');
    const choices = radios(group);
    expect(choices.map(labelOf)).toEqual(['System', 'Light', 'Dark']);
    expect(choices.map((r) => r.checked)).toEqual([true, false, false]);
    expect(new Set(choices.map((r) => r.name)).size).toBe(1); // one group: arrow keys move in it
    const section = group.closest('section')!;
    expect(document.getElementById(section.getAttribute('aria-labelledby')!)?.textContent).toBe('Appearance');
  });

  it('choosing one shows it at once (data-theme on <html>) and saves it; System takes it away', async () => {
    const el = await dialog();
    input(el, 'settings-theme-dark').click();
    flushSync();
    expect(document.documentElement.getAttribute('data-theme')).toBe('dark');
    expect(saved()).toMatchObject({ theme: 'dark', notificationText: true });
    expect(input(el, 'settings-theme-dark').checked).toBe(true);
    input(el, 'settings-theme-light').click();
    flushSync();
    expect(document.documentElement.getAttribute('data-theme')).toBe('light');
    input(el, 'settings-theme-system').click();
    flushSync();
    expect(document.documentElement.hasAttribute('data-theme')).toBe(false);
    expect(saved().theme).toBe('system');
    expect(reload).not.toHaveBeenCalled();
  });
});

describe('Appearance: the language', () => {
  it('System (and the language it is), 中文, English: each named in itself', async () => {
    const el = await dialog();
    const group = byId(el, 'settings-language')!;
    expect(group.tagName).toBe('FIELDSET');
    expect(group.querySelector('legend')?.textContent).toBe('Language');
    const choices = radios(group);
    expect(choices.map(labelOf)).toEqual(['System (English)', '中文', 'English']);
    expect(choices.map((r) => r.checked)).toEqual([true, false, false]);
    expect(byId(el, 'settings-language-zh-CN')!.closest('label')!.querySelector('[lang]')?.getAttribute('lang')).toBe('zh-CN');
    expect(document.getElementById(group.getAttribute('aria-describedby')!)?.textContent).toBe(
      'The window reloads to show the new language.',
    );
  });

  it('another language is saved, then the window reloads', async () => {
    const el = await dialog();
    reload.mockImplementation(() => expect(saved().language).toBe('zh-CN')); // saved first
    input(el, 'settings-language-zh-CN').click();
    flushSync();
    expect(reload).toHaveBeenCalledTimes(1);
    expect(saved().language).toBe('zh-CN');
  });

  it('English, the language already shown: saved, no reload', async () => {
    const el = await dialog();
    input(el, 'settings-language-en').click();
    flushSync();
    expect(saved().language).toBe('en');
    expect(reload).not.toHaveBeenCalled();
    expect(input(el, 'settings-language-en').checked).toBe(true);
  });
});

describe('Desktop', () => {
  it('close to tray: a labelled checkbox with its hint; ticking it calls set_close_to_tray', async () => {
    const el = await dialog();
    expect(desktopSettings).toHaveBeenCalledTimes(1); // loaded when the dialog opens
    const box = input(el, 'settings-close-to-tray');
    expect(box.type).toBe('checkbox');
    expect(labelOf(box)).toBe('Close to tray');
    expect(box.checked).toBe(false);
    expect(box.disabled).toBe(false);
    expect(document.getElementById(box.getAttribute('aria-describedby')!)?.textContent?.trim()).toBe(
      'Closing the window keeps Gtedx IM running in the tray; quit with Ctrl+Q.',
    );
    const section = box.closest('section')!;
    expect(document.getElementById(section.getAttribute('aria-labelledby')!)?.textContent).toBe('Desktop');

    box.click();
    await settle();
    expect(setCloseToTray.mock.calls).toEqual([[{ enabled: true }]]);
    expect(mock.control.desktopSettings().closeToTray).toBe(true);
    expect(box.checked).toBe(true);
    box.click();
    await settle();
    expect(setCloseToTray.mock.calls).toEqual([[{ enabled: true }], [{ enabled: false }]]);
    expect(mock.control.desktopSettings().closeToTray).toBe(false);
  });

  it('without a system tray: close to tray is off and disabled, and the hint says why', async () => {
    useMock({ desktop: { trayAvailable: false, closeToTray: true } });
    const el = await dialog();
    const box = input(el, 'settings-close-to-tray');
    expect(box.disabled).toBe(true);
    expect(box.checked).toBe(false);
    expect(document.getElementById(box.getAttribute('aria-describedby')!)?.textContent?.trim()).toBe(
      'There is no system tray on this desktop, so closing the window quits Gtedx IM.',
    );
  });

  it('start at sign-in: ticked, it calls set_start_at_login', async () => {
    const el = await dialog();
    const box = input(el, 'settings-start-at-login');
    expect(labelOf(box)).toBe('Start Gtedx IM when you sign in to your computer');
    box.click();
    await settle();
    expect(setStartAtLogin.mock.calls).toEqual([[{ enabled: true }]]);
    expect(box.checked).toBe(true);
    expect(mock.control.desktopSettings().startAtLogin).toBe(true);
  });

  it('start at sign-in refused (autostart): the checkbox goes back, a toast says why', async () => {
    useMock({ autostartFails: true });
    const el = await dialog();
    const box = input(el, 'settings-start-at-login');
    box.click();
    flushSync();
    expect(box.checked).toBe(true); // shown at once…
    await settle();
    expect(box.checked).toBe(false); // …and put back
    expect(app.toasts.map((t) => t.text)).toEqual([
      'Gtedx IM could not change whether it starts when you sign in. Could not write ~/.config/autostart/gtedx-im.desktop: Permission denied (os error 13).',
    ]);
  });

  it('while loading: a status line; a failed load: why, and Try again', async () => {
    const { DesktopSettingsStore } = await import('../../lib/stores/desktopSettings.svelte');
    const { ToastStore } = await import('../../lib/stores/toasts.svelte');
    const fresh = new DesktopSettingsStore(new ToastStore());
    const original = app.desktop;
    Object.defineProperty(app, 'desktop', { value: fresh, configurable: true });
    try {
      let answer: (s: DesktopSettings) => void = () => {};
      desktopSettings.mockImplementationOnce(() => new Promise((r) => (answer = r)));
      const el = await dialog();
      expect(byId(el, 'desktop-loading')?.textContent).toContain('Loading…');
      expect(byId(el, 'settings-close-to-tray')).toBeNull();
      expect((byId(el, 'settings-pause') as HTMLFieldSetElement).disabled).toBe(true);
      answer(mock.control.desktopSettings());
      await settle();
      expect(byId(el, 'desktop-loading')).toBeNull();
      expect(input(el, 'settings-close-to-tray').checked).toBe(false);
      expect((byId(el, 'settings-pause') as HTMLFieldSetElement).disabled).toBe(false);
      unmountAll();

      const failing = new DesktopSettingsStore(new ToastStore());
      Object.defineProperty(app, 'desktop', { value: failing, configurable: true });
      desktopSettings.mockRejectedValueOnce({ code: 'internal', message: 'boom' });
      const failed = await dialog();
      expect(byId(failed, 'desktop-error')?.textContent).toContain('These settings could not be loaded.');
      byId(failed, 'desktop-retry')!.click();
      await settle();
      expect(byId(failed, 'desktop-error')).toBeNull();
      expect(input(failed, 'settings-close-to-tray').checked).toBe(false);
    } finally {
      Object.defineProperty(app, 'desktop', { value: original, configurable: true });
    }
  });
});

describe('Desktop: hardware acceleration', () => {
  const restartLine = (el: HTMLElement) => byId(el, 'restart-needed')?.textContent?.trim() ?? null;

  it('a labelled checkbox (its id too) with its hint; ticking it calls set_hardware_acceleration', async () => {
    const el = await dialog();
    const box = input(el, 'hardware-acceleration');
    expect(box.type).toBe('checkbox');
    expect(box.id).toBe('hardware-acceleration');
    expect(labelOf(box)).toBe('Use hardware acceleration');
    expect(box.checked).toBe(false);
    expect(document.getElementById(box.getAttribute('aria-describedby')!)?.textContent?.trim()).toBe(
      'Off uses less memory and avoids blank windows with some graphics drivers. Takes effect after a restart.',
    );
    expect(box.closest('section')).toBe(byId(el, 'settings-desktop'));

    box.click();
    await settle();
    expect(setHardwareAcceleration.mock.calls).toEqual([[{ enabled: true }]]);
    expect(box.checked).toBe(true);
    expect(mock.control.desktopSettings().hardwareAcceleration).toEqual({ enabled: true, active: false });
    box.click();
    await settle();
    expect(setHardwareAcceleration.mock.calls).toEqual([[{ enabled: true }], [{ enabled: false }]]);
    expect(box.checked).toBe(false);
    expect(restartApp).not.toHaveBeenCalled();
  });

  it('the restart line only while the saved choice differs from what the app uses', async () => {
    const el = await dialog(); // off, and the app runs without it
    expect(restartLine(el)).toBeNull();
    expect(byId(el, 'restart-app')).toBeNull();
    const box = input(el, 'hardware-acceleration');
    box.click();
    flushSync();
    expect(restartLine(el)).toBe('Restart Gtedx IM to apply this.'); // at once
    expect(byId(el, 'restart-status')!.getAttribute('role')).toBe('status');
    await settle();
    expect(restartLine(el)).toBe('Restart Gtedx IM to apply this.');
    expect(byId(el, 'restart-app')!.textContent?.trim()).toBe('Restart now');
    box.click(); // back to what the app uses
    await settle();
    expect(restartLine(el)).toBeNull();
    expect(byId(el, 'restart-app')).toBeNull();
    unmountAll();

    for (const [hardware, line] of [
      [{ enabled: true, active: true }, false],
      [{ enabled: false, active: true }, true], // (turning it off needs a restart too)
      [{ enabled: true, active: false }, true],
    ] as const) {
      useMock({ desktop: { hardwareAcceleration: { ...hardware } } });
      const shown = await dialog();
      expect(input(shown, 'hardware-acceleration').checked, JSON.stringify(hardware)).toBe(hardware.enabled);
      expect(restartLine(shown) !== null, JSON.stringify(hardware)).toBe(line);
      expect(byId(shown, 'restart-app') !== null).toBe(line);
      unmountAll();
    }
  });

  it('Restart now calls restart_app; then the app uses the saved choice', async () => {
    useMock({ desktop: { hardwareAcceleration: { enabled: true, active: false } } });
    const el = await dialog();
    byId(el, 'restart-app')!.click();
    await settle();
    expect(restartApp).toHaveBeenCalledTimes(1);
    expect(mock.control.windowCommands()).toEqual(['restart_app']);
    expect(mock.control.desktopSettings().hardwareAcceleration).toEqual({ enabled: true, active: true });
    unmountAll();
    // (The app started again: its Settings show no restart line.)
    const again = await dialog();
    expect(input(again, 'hardware-acceleration').checked).toBe(true);
    expect(restartLine(again)).toBeNull();
  });

  it('restart_app may never answer: the button says Restarting…, and the dialog does not wait for it', async () => {
    useMock({ desktop: { hardwareAcceleration: { enabled: true, active: false } } });
    let answer: (v: null) => void = () => {};
    restartApp.mockImplementation(() => new Promise((r) => (answer = r)));
    try {
      const el = await dialog();
      const button = byId(el, 'restart-app') as HTMLButtonElement;
      button.click();
      await settle();
      expect(button.disabled).toBe(true);
      expect(button.textContent?.trim()).toBe('Restarting…');
      button.click();
      await settle();
      expect(restartApp).toHaveBeenCalledTimes(1);
      input(el, 'settings-close-to-tray').click(); // the rest still works
      await settle();
      expect(mock.control.desktopSettings().closeToTray).toBe(true);
    } finally {
      answer(null);
      await settle();
    }
    expect(app.desktop.restarting).toBe(false);
  });

  it('a refused restart: a toast, and Restart now again', async () => {
    useMock({ desktop: { hardwareAcceleration: { enabled: true, active: false } } });
    restartApp.mockRejectedValueOnce({ code: 'internal', message: 'could not start a new process' });
    const el = await dialog();
    byId(el, 'restart-app')!.click();
    await settle();
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
    const button = byId(el, 'restart-app') as HTMLButtonElement;
    expect(button.disabled).toBe(false);
    expect(button.textContent?.trim()).toBe('Restart now');
  });

  it('Restart now is off while the change of the choice is on its way', async () => {
    let answer: () => void = () => {};
    setHardwareAcceleration.mockImplementationOnce(
      (a) => new Promise((r) => (answer = () => r(mock.invoke('set_hardware_acceleration', a)))),
    );
    const el = await dialog();
    input(el, 'hardware-acceleration').click();
    await settle();
    expect((byId(el, 'restart-app') as HTMLButtonElement).disabled).toBe(true);
    answer();
    await settle();
    expect((byId(el, 'restart-app') as HTMLButtonElement).disabled).toBe(false);
  });

  it('where it does not apply (Windows, macOS: null): none of it', async () => {
    useMock({ desktop: { hardwareAcceleration: null } });
    const el = await dialog();
    expect(byId(el, 'settings-close-to-tray')).not.toBeNull(); // (the section is there)
    expect(byId(el, 'hardware-acceleration')).toBeNull();
    expect(el.querySelector('#hardware-acceleration')).toBeNull();
    expect(byId(el, 'restart-status')).toBeNull();
    expect(byId(el, 'restart-app')).toBeNull();
    expect(byId(el, 'settings-desktop')!.textContent).not.toContain('hardware acceleration');
  });

  it('with the restart line: no accessibility violations', async () => {
    useMock({ desktop: { hardwareAcceleration: { enabled: true, active: false } } });
    const el = await dialog();
    expect(byId(el, 'restart-app')).not.toBeNull();
    await expectNoAxeViolations(el);
  }, 30_000);
});

describe('Pause notifications', () => {
  const status = (el: HTMLElement) => byId(el, 'settings-paused')?.textContent?.trim() ?? null;

  it('For 1 hour: paused until 11:00 (today: the time only); Resume ends it and keeps the focus', async () => {
    const el = await dialog();
    const group = byId(el, 'settings-pause')!;
    expect(group.tagName).toBe('FIELDSET');
    expect(group.querySelector('legend')?.textContent).toBe('Pause notifications');
    expect(status(el)).toBeNull();
    expect(byId(el, 'settings-resume')).toBeNull();

    byId(el, 'settings-pause-hour')!.click();
    await settle();
    expect(muteNotifications.mock.calls).toEqual([[{ span: 'hour' }]]);
    expect(status(el)).toBe('Paused until 11:00');
    expect(byId(el, 'settings-paused')!.title).toBe(formatFull(NOW + 3_600_000, 'en'));
    expect(byId(el, 'settings-pause-status')!.getAttribute('role')).toBe('status');

    const resume = byId(el, 'settings-resume')!;
    expect(resume.textContent?.trim()).toBe('Resume');
    resume.focus();
    resume.click();
    await settle();
    expect(muteNotifications.mock.calls).toEqual([[{ span: 'hour' }], [{ span: 'off' }]]);
    expect(status(el)).toBeNull();
    expect(byId(el, 'settings-resume')).toBeNull();
    expect(mock.control.desktopSettings().notificationsMutedUntil).toBeNull();
    expect(document.activeElement).toBe(byId(el, 'settings-pause-hour'));
  });

  it('Until tomorrow: 08:00 tomorrow, with its date', async () => {
    const el = await dialog();
    byId(el, 'settings-pause-tomorrow')!.click();
    await settle();
    expect(muteNotifications.mock.calls).toEqual([[{ span: 'tomorrow' }]]);
    expect(mock.control.desktopSettings().notificationsMutedUntil).toBe(tomorrowMorning(NOW));
    expect(status(el)).toBe('Paused until Mar 4, 08:00');
  });

  it('the tray pauses them while the dialog is open: the desktopSettings event shows it', async () => {
    const el = await dialog();
    mock.control.muteFromTray('hour');
    app.desktop.event(mock.control.desktopSettings()); // (what the app's event router does)
    flushSync();
    expect(status(el)).toBe('Paused until 11:00');
    mock.control.muteFromTray('off');
    app.desktop.event(mock.control.desktopSettings());
    flushSync();
    expect(status(el)).toBeNull();
  });

  it('a pause whose time has passed is not shown', async () => {
    useMock({ desktop: { notificationsMutedUntil: NOW - 1 } });
    const el = await dialog();
    expect(status(el)).toBeNull();
    app.desktop.event({ ...mock.control.desktopSettings(), notificationsMutedUntil: NOW - 60_000 });
    flushSync();
    expect(status(el)).toBeNull();
  });
});

describe('About', () => {
  it('the version, last in the dialog', async () => {
    const el = await dialog();
    const about = byId(el, 'settings-about')!;
    expect(byId(about, 'settings-version')?.textContent).toBe('Version 1.4.2');
    const sections = [...byId(el, 'settings-dialog')!.querySelectorAll('section')];
    expect(sections[sections.length - 1]).toBe(about);
    expect(document.getElementById(about.getAttribute('aria-labelledby')!)?.textContent).toBe('About');
  });
});
