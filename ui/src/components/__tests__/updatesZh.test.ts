// @vitest-environment happy-dom
// The self-update's banner and the Settings sections Storage and About in Chinese (the language
// chosen in Settings, saved before the app starts), with an axe check: the same screens as
// updates.test.ts, each text in the other language.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { MockBackend } from '../../lib/mock';
import { conv } from '../../lib/__tests__/fixtures';
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
    desktopSettings: async () => ({
      closeToTray: false,
      startAtLogin: false,
      notificationsMutedUntil: null,
      trayAvailable: true,
      hardwareAcceleration: { enabled: false, active: false },
    }),
    listConversations: async () => [],
    loadMessages: async () => ({ messages: [], hasMore: false }),
    updateStatus: vi.fn(),
    checkForUpdates: vi.fn(),
    installUpdate: vi.fn(),
    setAutoUpdate: vi.fn(),
    cacheUsage: vi.fn(),
    clearCache: vi.fn(),
  };
});

const api = await import('../../lib/api');
const { createMockBackend } = await import('../../lib/mock');
const { app, locale } = await import('../../lib/store.svelte');
const { expectNoAxeViolations } = await import('../../test/axe');
const MainScreen = (await import('../MainScreen.svelte')).default;
const SettingsDialog = (await import('../SettingsDialog.svelte')).default;

const NOW = new Date(2026, 2, 3, 10, 0).getTime();
let mock: MockBackend;

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  stubResizeObserver(['conversation-list']);
  showMain(app, [conv({ id: 'c-jerry', displayTitle: 'Jerry', lastActivity: NOW - 60_000 })]);
  app.info = { version: '0.1.0', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.now = NOW;
  mock = createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history: 5,
    deliver: (fire) => fire(),
    update: { version: '0.2.0', notes: '启动更快。' },
  });
  await mock.invoke('restore_session');
  vi.mocked(api.updateStatus).mockImplementation(() => mock.invoke('update_status'));
  vi.mocked(api.checkForUpdates).mockImplementation(() => mock.invoke('check_for_updates'));
  vi.mocked(api.installUpdate).mockImplementation(() => mock.invoke('install_update'));
  vi.mocked(api.setAutoUpdate).mockImplementation((a) => mock.invoke('set_auto_update', a));
  vi.mocked(api.cacheUsage).mockResolvedValue({ bytes: 12_345_678, messages: 2_004 });
  vi.mocked(api.clearCache).mockImplementation(() => mock.invoke('clear_cache'));
  await mock.listen((e) => e.kind === 'update' && app.updates.event(e.status));
  await app.updates.load();
});
afterEach(() => {
  unmountAll();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

const text = (el: HTMLElement | null) => el?.textContent?.replace(/\s+/g, ' ').trim() ?? null;

describe('in Chinese', () => {
  it('the app speaks Chinese', () => {
    expect(locale).toBe('zh-CN');
  });

  it('About and Storage: each text in Chinese; the status line as the check goes', async () => {
    const el = render(SettingsDialog, { onclose: () => {} });
    await settle();
    expect(text(byId(el, 'settings-about')!.querySelector('h3'))).toBe('关于');
    expect(text(byId(el, 'settings-about')!.querySelector('.version'))).toBe('Gtedx IM · 版本 0.1.0');
    expect(text(byId(el, 'update-auto')!.closest('label'))).toBe('自动检查更新');
    expect(text(byId(el, 'update-check'))).toBe('检查更新');
    expect(text(byId(el, 'settings-storage')!.querySelector('h3'))).toBe('存储');
    expect(text(byId(el, 'cache-usage'))).toBe('这台电脑上的消息：12.3 MB（2,004 条消息）');
    expect(text(byId(el, 'cache-clear'))).toBe('清除缓存…');

    byId(el, 'update-check')!.click();
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('正在检查更新…');
    mock.control.updateUpToDate();
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('已是最新版本（检查于 10:00）');
    await app.updates.check();
    mock.control.updateFound('0.2.0', 200);
    mock.control.updateProgress(50);
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('正在下载版本 0.2.0… 25%');
    mock.control.updateFailed('update_signature');
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('下载的更新没有通过签名校验，因此没有安装：它可能被人篡改过。请稍后再试。');
    await app.updates.check();
    mock.control.finishUpdateCheck();
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('版本 0.2.0 已准备就绪');
    expect(text(byId(el, 'update-notes')!.querySelector('h4'))).toBe('0.2.0 的新内容');
    expect(text(byId(el, 'update-restart-settings'))).toBe('重启以更新');
    await expectNoAxeViolations(el);

    byId(el, 'cache-clear')!.click();
    await settle();
    const dialog = byId(document.body, 'clear-cache-dialog')!;
    expect(text(document.getElementById(dialog.getAttribute('aria-labelledby')!))).toBe('清除保存在这台电脑上的消息？');
    expect(text(dialog)).toContain('聊天记录仍保存在服务器上，打开聊天时会重新加载。尚未发送的消息会保留。');
    expect(text(byId(document.body, 'clear-cache-confirm'))).toBe('清除缓存');
    expect(text(byId(document.body, 'clear-cache-cancel'))).toBe('取消');
  }, 30_000);

  it('the banner: ready, Restart to update and Later; a refused install’s sentence; axe', async () => {
    const el = render(MainScreen, {});
    await app.updates.check();
    mock.control.finishUpdateCheck();
    await settle();
    expect(text(byId(el, 'update-banner-text'))).toBe('Gtedx IM 0.2.0 已准备就绪');
    expect(text(byId(el, 'update-restart'))).toBe('重启以更新');
    expect(text(byId(el, 'update-later'))).toBe('稍后');
    mock.control.failUpdateInstall(true);
    byId(el, 'update-restart')!.click();
    await settle();
    expect(text(byId(el, 'update-banner-error'))).toContain('无法安装更新。Gtedx IM 会继续使用当前版本。');
    await expectNoAxeViolations(el, { page: true });
    let answer: (v: null) => void = () => {};
    vi.mocked(api.installUpdate).mockImplementationOnce(() => new Promise((r) => (answer = r)));
    byId(el, 'update-restart')!.click();
    await settle();
    expect(text(byId(el, 'update-restart'))).toBe('正在重启…');
    answer(null);
  }, 30_000);
});
