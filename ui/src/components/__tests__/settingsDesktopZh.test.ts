// @vitest-environment happy-dom
// The Settings dialog's hardware acceleration in Chinese (the language chosen in Settings, saved
// before the app starts), with an axe check: the same as in settingsDesktop.test.ts, each text in
// the other language.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MockBackend } from '../../lib/mock';
import { byId, render, settle, showMain, stubResizeObserver, unmountAll } from './dom';

// Chinese, saved in the preferences before the i18n module reads them.
await vi.hoisted(async () => {
  const { PREFERENCES_KEY } = await import('../../lib/savedPreferences');
  localStorage.setItem(PREFERENCES_KEY, JSON.stringify({ language: 'zh-CN' }));
});

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
    setHardwareAcceleration: vi.fn(),
    restartApp: vi.fn(),
    cacheUsage: async () => ({ bytes: 1_234_567, messages: 321 }),
    updateStatus: async () => ({ currentVersion: '1', autoCheck: true, checkedAt: null, state: { kind: 'idle' } }),
  };
});

const api = await import('../../lib/api');
const { createMockBackend } = await import('../../lib/mock');
const { app, locale } = await import('../../lib/store.svelte');
const { expectNoAxeViolations } = await import('../../test/axe');
const SettingsDialog = (await import('../SettingsDialog.svelte')).default;

const desktopSettings = vi.mocked(api.desktopSettings);
const setHardwareAcceleration = vi.mocked(api.setHardwareAcceleration);
const restartApp = vi.mocked(api.restartApp);

let mock: MockBackend;

/** The mock backend answers the desktop commands (`options`: its desktop at start). */
function useMock(options: Parameters<typeof createMockBackend>[0] = {}) {
  mock = createMockBackend({ scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, ...options });
  desktopSettings.mockImplementation(() => mock.invoke('desktop_settings'));
  setHardwareAcceleration.mockImplementation((a) => mock.invoke('set_hardware_acceleration', a));
  restartApp.mockImplementation(() => mock.invoke('restart_app'));
}

beforeEach(() => {
  stubResizeObserver(['conversation-list']);
  showMain(app, []);
  app.info = { version: '0.1.0', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  for (const f of [desktopSettings, setHardwareAcceleration, restartApp]) f.mockReset();
  useMock();
});
afterEach(() => {
  unmountAll();
  vi.unstubAllGlobals();
});

async function dialog() {
  const el = render(SettingsDialog, { onclose: () => {} });
  await settle();
  return el;
}
const text = (el: Element | null) => el?.textContent?.replace(/\s+/g, ' ').trim() ?? null;
const box = (el: HTMLElement) => byId(el, 'hardware-acceleration') as HTMLInputElement;

describe('hardware acceleration, in Chinese', () => {
  it('the app speaks Chinese', () => {
    expect(locale).toBe('zh-CN');
  });

  it('the checkbox and its hint; ticking it calls set_hardware_acceleration and shows the restart line', async () => {
    const el = await dialog();
    expect(text(box(el).closest('label'))).toBe('使用硬件加速');
    expect(text(document.getElementById(box(el).getAttribute('aria-describedby')!))).toBe(
      '关闭时占用内存更少，也能避免某些显卡驱动下窗口空白。重启后生效。',
    );
    expect(byId(el, 'restart-needed')).toBeNull();

    box(el).click();
    await settle();
    expect(setHardwareAcceleration.mock.calls).toEqual([[{ enabled: true }]]);
    expect(mock.control.desktopSettings().hardwareAcceleration).toEqual({ enabled: true, active: false });
    expect(text(byId(el, 'restart-needed'))).toBe('重启 Gtedx IM 以应用此设置。');
    expect(text(byId(el, 'restart-app'))).toBe('立即重启');
    await expectNoAxeViolations(el);

    box(el).click();
    await settle();
    expect(setHardwareAcceleration.mock.calls).toEqual([[{ enabled: true }], [{ enabled: false }]]);
    expect(byId(el, 'restart-needed')).toBeNull();
  }, 30_000);

  it('立即重启 calls restart_app, and says 正在重启… while it is on its way', async () => {
    useMock({ desktop: { hardwareAcceleration: { enabled: false, active: true } } });
    let answer: (v: null) => void = () => {};
    restartApp.mockImplementationOnce(() => new Promise((r) => (answer = r)));
    const el = await dialog();
    expect(box(el).checked).toBe(false);
    byId(el, 'restart-app')!.click();
    await settle();
    expect(restartApp).toHaveBeenCalledTimes(1);
    expect(text(byId(el, 'restart-app'))).toBe('正在重启…');
    answer(null);
    await settle();
    expect(text(byId(el, 'restart-app'))).toBe('立即重启');
  });

  it('the app already uses the saved choice: no restart line; where it does not apply (null): none of it', async () => {
    useMock({ desktop: { hardwareAcceleration: { enabled: true, active: true } } });
    const el = await dialog();
    expect(box(el).checked).toBe(true);
    expect(byId(el, 'restart-needed')).toBeNull();
    unmountAll();

    useMock({ desktop: { hardwareAcceleration: null } });
    const none = await dialog();
    expect(byId(none, 'settings-start-at-login')).not.toBeNull();
    expect(byId(none, 'hardware-acceleration')).toBeNull();
    expect(byId(none, 'restart-app')).toBeNull();
    expect(text(byId(none, 'settings-desktop'))).not.toContain('硬件加速');
  });
});
