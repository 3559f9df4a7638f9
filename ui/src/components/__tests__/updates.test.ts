// @vitest-environment happy-dom
// The self-update and the storage, in English, against the mock backend: the main screen's banner
// ("Gtedx IM 0.2.0 is ready": Restart to update, Later, a refused install), the Settings sections
// Storage (the messages on this computer, "Clear cache…" with its confirmation, then everything
// shown loads again) and About (the version, the automatic checks, "Check for updates" and its
// status line, release notes as plain text, Restart to update), and an axe check of each.
// (In Chinese: updatesZh.test.ts.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { CacheUsage, UpdateStatus } from '../../lib/api';
import type { MockBackend, MockUpdateOptions } from '../../lib/mock';
import { conv } from '../../lib/__tests__/fixtures';
import { expectNoAxeViolations } from '../../test/axe';
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
    blockedUsers: async () => [],
    desktopSettings: async () => ({
      closeToTray: false,
      startAtLogin: false,
      notificationsMutedUntil: null,
      trayAvailable: true,
      hardwareAcceleration: { enabled: false, active: false },
    }),
    listConversations: vi.fn(),
    loadMessages: vi.fn(),
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
const { app } = await import('../../lib/store.svelte');
const { UpdateStore } = await import('../../lib/stores/updates.svelte');
const { CacheStore } = await import('../../lib/stores/cache.svelte');
const MainScreen = (await import('../MainScreen.svelte')).default;
const SettingsDialog = (await import('../SettingsDialog.svelte')).default;
const Toasts = (await import('../Toasts.svelte')).default;

const fakes = {
  updateStatus: vi.mocked(api.updateStatus),
  checkForUpdates: vi.mocked(api.checkForUpdates),
  installUpdate: vi.mocked(api.installUpdate),
  setAutoUpdate: vi.mocked(api.setAutoUpdate),
  cacheUsage: vi.mocked(api.cacheUsage),
  clearCache: vi.mocked(api.clearCache),
  listConversations: vi.mocked(api.listConversations),
  loadMessages: vi.mocked(api.loadMessages),
};

/** 10:00 local time on 3 March 2026. */
const NOW = new Date(2026, 2, 3, 10, 0).getTime();
const NOTES = 'Faster start-up.\n<b>Not bold</b>: plain text.';
let mock: MockBackend;

/** The mock backend answers the update and cache commands; its `update` events reach the store. */
async function useMock(update: MockUpdateOptions = {}) {
  mock = createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history: 5,
    deliver: (fire) => fire(),
    update: { version: '0.2.0', notes: NOTES, ...update },
  });
  await mock.invoke('restore_session');
  fakes.updateStatus.mockImplementation(() => mock.invoke('update_status'));
  fakes.checkForUpdates.mockImplementation(() => mock.invoke('check_for_updates'));
  fakes.installUpdate.mockImplementation(() => mock.invoke('install_update'));
  fakes.setAutoUpdate.mockImplementation((a) => mock.invoke('set_auto_update', a));
  fakes.cacheUsage.mockImplementation(() => mock.invoke('cache_usage'));
  fakes.clearCache.mockImplementation(() => mock.invoke('clear_cache'));
  await mock.listen((e) => e.kind === 'update' && app.updates.event(e.status));
}

/** The update found and downloaded: ready to install. */
async function readyUpdate() {
  await app.updates.check();
  mock.control.finishUpdateCheck();
  await settle();
}

beforeEach(async () => {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(NOW);
  stubResizeObserver(['conversation-list', 'message-list']);
  showMain(app, [conv({ id: 'c-jerry', displayTitle: 'Jerry', lastActivity: NOW - 60_000 })]);
  app.info = { version: '0.1.0', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.now = NOW;
  app.settingsOpen = false;
  // A fresh self-update and cache for each test (the app's are made once).
  Object.defineProperty(app, 'updates', { value: new UpdateStore(app.toastStore), configurable: true });
  Object.defineProperty(app, 'cache', {
    value: new CacheStore({ account: () => app.account, cleared: () => void app.resync() }),
    configurable: true,
  });
  for (const f of Object.values(fakes)) f.mockReset();
  fakes.listConversations.mockResolvedValue([conv({ id: 'c-jerry', displayTitle: 'Jerry', lastActivity: NOW - 60_000 })]);
  fakes.loadMessages.mockResolvedValue({ messages: [], hasMore: false });
  await useMock();
  await app.updates.load();
});
afterEach(() => {
  unmountAll();
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  for (const toast of app.toasts) app.dismissToast(toast.id);
  app.selectedId = null;
});

async function settings() {
  const el = render(SettingsDialog, { onclose: () => (app.settingsOpen = false) });
  await settle();
  return el;
}
const text = (el: HTMLElement | null) => el?.textContent?.replace(/\s+/g, ' ').trim() ?? null;
const banner = (el: HTMLElement) => byId(el, 'update-banner')!;
const button = (el: HTMLElement, id: string) => byId(el, id) as HTMLButtonElement;

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

describe('the banner', () => {
  it('hidden until an update is ready; then under the conversation list, beside (not over) the chat', async () => {
    const el = render(MainScreen, {});
    await settle();
    expect(banner(el).hidden).toBe(true);
    expect(banner(el).id).toBe('update-banner');
    expect(banner(el).getAttribute('role')).toBe('status');
    await readyUpdate();
    expect(banner(el).hidden).toBe(false);
    expect(text(byId(el, 'update-banner-text'))).toBe('Gtedx IM 0.2.0 is ready');
    expect(banner(el).closest('aside')).not.toBeNull(); // the sidebar
    expect(banner(el).closest('main')).toBeNull();
    expect(banner(el).previousElementSibling?.classList.contains('sidebar-body')).toBe(true); // under the list
    const restart = button(el, 'update-restart');
    expect(restart.id).toBe('update-restart');
    expect(text(restart)).toBe('Restart to update');
    expect(text(byId(el, 'update-later'))).toBe('Later');
    await expectNoAxeViolations(el, { page: true });
  });

  it('Restart to update installs: disabled and "Restarting…" meanwhile', async () => {
    const el = render(MainScreen, {});
    await readyUpdate();
    const answer = deferred<null>();
    fakes.installUpdate.mockImplementation(() => {
      void mock.invoke('install_update');
      return answer.promise;
    });
    button(el, 'update-restart').click();
    await settle();
    expect(fakes.installUpdate).toHaveBeenCalledTimes(1);
    expect(mock.control.updateStatus().state).toEqual({ kind: 'installing', version: '0.2.0' });
    expect(button(el, 'update-restart').disabled).toBe(true);
    expect(text(button(el, 'update-restart'))).toBe('Restarting…');
    expect(button(el, 'update-later').disabled).toBe(true);
    answer.resolve(null); // (the app restarts now)
    await settle();
    expect(button(el, 'update-restart').disabled).toBe(true);
    expect(text(button(el, 'update-restart'))).toBe('Restarting…');
  });

  it('a refused install: its sentence and the reason, the update ready to try again; axe', async () => {
    const el = render(MainScreen, {});
    await readyUpdate();
    mock.control.failUpdateInstall(true);
    button(el, 'update-restart').click();
    await settle();
    const error = byId(el, 'update-banner-error')!;
    expect(error.dataset.code).toBe('update_install');
    expect(text(error)).toBe(
      'The update could not be installed. Gtedx IM keeps running this version. The package could not be installed: dpkg exited with status 1.',
    );
    expect(text(byId(el, 'update-banner-error-detail'))).toBe('The package could not be installed: dpkg exited with status 1.');
    expect(button(el, 'update-restart').disabled).toBe(false);
    expect(text(button(el, 'update-restart'))).toBe('Restart to update');
    expect(app.toasts).toEqual([]); // (said here, not twice)
    await expectNoAxeViolations(el, { page: true });
    mock.control.failUpdateInstall(false);
    button(el, 'update-restart').click();
    await settle();
    expect(byId(el, 'update-banner-error')).toBeNull();
    expect(text(button(el, 'update-restart'))).toBe('Restarting…');
  });

  it('Later: gone for the session; Settings still offers the update', async () => {
    const el = render(MainScreen, {});
    await readyUpdate();
    button(el, 'update-later').click();
    flushSync();
    expect(banner(el).hidden).toBe(true);
    expect(fakes.installUpdate).not.toHaveBeenCalled();
    const s = await settings();
    expect(text(byId(s, 'update-status'))).toBe('Version 0.2.0 is ready');
    expect(byId(s, 'update-restart-settings')).not.toBeNull();
  });
});

describe('Settings: About', () => {
  it('the version, the automatic checks (on), Check for updates and an empty status line, last in the dialog', async () => {
    const el = await settings();
    const about = byId(el, 'settings-about')!;
    const sections = [...byId(el, 'settings-dialog')!.querySelectorAll('section')];
    expect(sections[sections.length - 1]).toBe(about);
    expect(text(about.querySelector('.version'))).toBe('Gtedx IM · Version 0.1.0');
    const auto = byId(el, 'update-auto') as HTMLInputElement;
    expect(auto.id).toBe('update-auto');
    expect(auto.type).toBe('checkbox');
    expect(auto.checked).toBe(true);
    expect(text(auto.closest('label'))).toBe('Check for updates automatically');
    expect(text(document.getElementById(auto.getAttribute('aria-describedby')!))).toBe('When Gtedx IM starts, and once a day.');
    expect(text(button(el, 'update-check'))).toBe('Check for updates');
    expect(button(el, 'update-check').id).toBe('update-check');
    const status = byId(el, 'update-status')!;
    expect(status.id).toBe('update-status');
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(text(status)).toBe('');
  });

  it('unticking the automatic checks calls set_auto_update', async () => {
    const el = await settings();
    const auto = byId(el, 'update-auto') as HTMLInputElement;
    auto.click();
    await settle();
    expect(fakes.setAutoUpdate.mock.calls).toEqual([[{ enabled: false }]]);
    expect(mock.control.updateStatus().autoCheck).toBe(false);
    expect(auto.checked).toBe(false);
  });

  it('Check for updates: "Checking…" (the button waits), then up to date with the time', async () => {
    const el = await settings();
    button(el, 'update-check').click();
    await settle();
    expect(fakes.checkForUpdates).toHaveBeenCalledTimes(1);
    expect(text(byId(el, 'update-status'))).toBe('Checking for updates…');
    expect(byId(el, 'update-status')!.dataset.state).toBe('checking');
    expect(button(el, 'update-check').disabled).toBe(true);
    mock.control.updateUpToDate();
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('You’re up to date (checked 10:00)');
    expect(button(el, 'update-check').disabled).toBe(false);
  });

  it('downloading: the percent, or the bytes when the size is not known; the button waits', async () => {
    const el = await settings();
    mock.control.updateCheckStarts();
    mock.control.updateFound('0.2.0', 40_000_000);
    mock.control.updateProgress(10_000_000);
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('Downloading version 0.2.0… 25%');
    expect(button(el, 'update-check').disabled).toBe(true);
    expect(byId(el, 'update-restart-settings')).toBeNull();
    mock.control.updateFailed('update_network');
    mock.control.updateCheckStarts();
    mock.control.updateFound('0.2.0', null);
    mock.control.updateProgress(1_234_567);
    await settle();
    expect(text(byId(el, 'update-status'))).toBe('Downloading version 0.2.0… 1.2 MB');
  });

  it('ready: "Version 0.2.0 is ready", the notes as plain text, and its own Restart to update', async () => {
    const el = await settings();
    await readyUpdate();
    expect(text(byId(el, 'update-status'))).toBe('Version 0.2.0 is ready');
    const notes = byId(el, 'update-notes')!;
    expect(text(notes.querySelector('h4'))).toBe('What’s new in 0.2.0');
    expect(notes.querySelector('.notes-text')?.textContent).toBe(NOTES);
    expect(notes.querySelector('b')).toBeNull(); // never HTML
    const restart = button(el, 'update-restart-settings');
    expect(restart.id).toBe('update-restart-settings');
    expect(text(restart)).toBe('Restart to update');
    restart.click();
    await settle();
    expect(fakes.installUpdate).toHaveBeenCalledTimes(1);
    expect(restart.disabled).toBe(true);
    expect(text(restart)).toBe('Restarting…');
    expect(text(byId(el, 'update-status'))).toBe('Installing version 0.2.0…');
    expect(button(el, 'update-check').disabled).toBe(true);
  });

  it('a refused install from Settings: the sentence and the reason under the status', async () => {
    const el = await settings();
    await readyUpdate();
    mock.control.failUpdateInstall(true);
    button(el, 'update-restart-settings').click();
    await settle();
    const error = byId(el, 'update-install-error')!;
    expect(error.getAttribute('role')).toBe('alert');
    expect(text(error)).toContain('The update could not be installed.');
    expect(text(byId(el, 'update-install-error-detail'))).toBe('The package could not be installed: dpkg exited with status 1.');
    expect(button(el, 'update-restart-settings').disabled).toBe(false);
  });

  it('a failed check: the error’s sentence (no technical text); a signature failure says so plainly', async () => {
    const el = await settings();
    await app.updates.check();
    mock.control.updateFound('0.2.0', 100);
    mock.control.updateFailed('update_signature');
    await settle();
    expect(text(byId(el, 'update-status'))).toBe(
      'The downloaded update failed its signature check, so it was not installed: it may have been tampered with. Try again later.',
    );
    expect(byId(el, 'update-status-detail')).toBeNull();
    expect(button(el, 'update-check').disabled).toBe(false);
  });

  it('a build that does not update itself: Check for updates is refused, a toast says why', async () => {
    await useMock({ unsupported: true });
    const el = render(Toasts, {});
    const s = await settings();
    button(s, 'update-check').click();
    await settle();
    expect(text(byId(el, 'toast'))).toBe(
      "This copy of Gtedx IM does not update itself (for example, it was installed by your system's package manager). Check your package manager for updates.",
    );
    expect(text(byId(s, 'update-status'))).toBe('');
  });

  it('the status not loaded at start: loaded when the dialog opens; the checkbox waits for it', async () => {
    Object.defineProperty(app, 'updates', { value: new UpdateStore(app.toastStore), configurable: true });
    const answer = deferred<UpdateStatus>();
    fakes.updateStatus.mockImplementationOnce(() => answer.promise);
    const el = await settings();
    expect(fakes.updateStatus).toHaveBeenCalledTimes(2);
    expect((byId(el, 'update-auto') as HTMLInputElement).disabled).toBe(true);
    answer.resolve(mock.control.updateStatus());
    await settle();
    expect((byId(el, 'update-auto') as HTMLInputElement).disabled).toBe(false);
  });
});

describe('Settings: Storage', () => {
  it('before About: the messages on this computer, loaded when the dialog opens', async () => {
    fakes.cacheUsage.mockResolvedValueOnce({ bytes: 12_345_678, messages: 2_004 });
    const el = await settings();
    const storage = byId(el, 'settings-storage')!;
    expect(text(document.getElementById(storage.getAttribute('aria-labelledby')!))).toBe('Storage');
    expect(storage.nextElementSibling).toBe(byId(el, 'settings-about'));
    const usage = byId(el, 'cache-usage')!;
    expect(usage.id).toBe('cache-usage');
    expect(text(usage)).toBe('Messages on this computer: 12.3 MB (2,004 messages)');
    expect(fakes.cacheUsage).toHaveBeenCalledTimes(1);
    const clear = button(el, 'cache-clear');
    expect(clear.id).toBe('cache-clear');
    expect(text(clear)).toBe('Clear cache…');
    expect(clear.getAttribute('aria-haspopup')).toBe('dialog');
  });

  it('one message: singular', async () => {
    fakes.cacheUsage.mockResolvedValueOnce({ bytes: 45_056, messages: 1 });
    const el = await settings();
    expect(text(byId(el, 'cache-usage'))).toBe('Messages on this computer: 45.1 KB (1 message)');
  });

  it('Clear cache… asks first; Cancel changes nothing', async () => {
    const el = await settings();
    button(el, 'cache-clear').click();
    await settle();
    const dialog = byId(document.body, 'clear-cache-dialog')!;
    expect(dialog.getAttribute('role')).toBe('alertdialog');
    expect(text(document.getElementById(dialog.getAttribute('aria-labelledby')!))).toBe('Clear the messages kept on this computer?');
    expect(text(dialog)).toContain(
      'Your chats stay on the server and load again when you open them. Messages not yet sent are kept.',
    );
    expect(document.activeElement).toBe(byId(document.body, 'clear-cache-cancel'));
    await expectNoAxeViolations(document.body);
    byId(document.body, 'clear-cache-cancel')!.click();
    await settle();
    expect(byId(document.body, 'clear-cache-dialog')).toBeNull();
    expect(fakes.clearCache).not.toHaveBeenCalled();
  });

  it('confirmed: cleared, the new usage shown, and the list and the open conversation load again', async () => {
    await app.select('c-jerry');
    await settle();
    const before = { lists: fakes.listConversations.mock.calls.length, pages: fakes.loadMessages.mock.calls.length };
    const el = await settings();
    const full = mock.control.cacheUsage()!;
    expect(full.messages).toBeGreaterThan(0);
    button(el, 'cache-clear').click();
    await settle();
    byId(document.body, 'clear-cache-confirm')!.click();
    await settle();
    expect(fakes.clearCache).toHaveBeenCalledTimes(1);
    expect(byId(document.body, 'clear-cache-dialog')).toBeNull();
    const after = mock.control.cacheUsage()!;
    expect(after.messages).toBe(0);
    expect(text(byId(el, 'cache-usage'))).toBe(`Messages on this computer: ${(after.bytes / 1000).toFixed(1)} KB (0 messages)`);
    expect(fakes.listConversations.mock.calls.length).toBe(before.lists + 1);
    expect(fakes.loadMessages.mock.calls.length).toBe(before.pages + 1);
    expect(fakes.loadMessages.mock.calls.slice(-1)[0]?.[0]).toMatchObject({ conversationId: 'c-jerry', beforeSeq: null });
    expect(button(el, 'cache-clear').disabled).toBe(false);
  });

  it('refused: a toast says why, the usage stays', async () => {
    const toasts = render(Toasts, {});
    const el = await settings();
    const shown = text(byId(el, 'cache-usage'));
    mock.control.failCache(true);
    button(el, 'cache-clear').click();
    await settle();
    byId(document.body, 'clear-cache-confirm')!.click();
    await settle();
    expect(text(byId(toasts, 'toast'))).toBe('The app could not read or write its storage on this computer.');
    expect(text(byId(el, 'cache-usage'))).toBe(shown);
    expect(fakes.listConversations).not.toHaveBeenCalled();
  });

  it('the usage could not be read: why, and Try again', async () => {
    mock.control.failCache(true);
    const el = await settings();
    const error = byId(el, 'cache-error')!;
    expect(error.dataset.code).toBe('cache');
    expect(text(error)).toContain('The size of the messages kept on this computer could not be read.');
    mock.control.failCache(false);
    byId(el, 'cache-retry')!.click();
    await settle();
    expect(byId(el, 'cache-error')).toBeNull();
    expect(text(byId(el, 'cache-usage'))).toMatch(/^Messages on this computer: [\d.]+ KB \(\d+ messages\)$/);
  });
});

describe('accessibility', () => {
  it('the Settings dialog with an update ready, its notes, and the storage: no violations', async () => {
    fakes.cacheUsage.mockResolvedValueOnce({ bytes: 12_345_678, messages: 2_004 } satisfies CacheUsage);
    await readyUpdate();
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'settings-open')!.click();
    await settle();
    expect(byId(el, 'update-notes')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
    app.settingsOpen = false;
  }, 30_000);
});
