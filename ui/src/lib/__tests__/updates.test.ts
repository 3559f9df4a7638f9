// The self-update (`UpdateStore`) against a fake backend: loading, checking (a refusal is a toast),
// the `update` events (routed by the app, signed in or not) and answers that cross them, the
// automatic-checks checkbox, installing (a refusal is shown, not a toast) and the banner put away
// ("Later"); and the texts: the Settings status line, a download's progress, sizes, update errors.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ImEvent, UpdateState, UpdateStatus } from '../api';
import { createTranslator } from '../i18n';
import { formatCount, formatSize } from '../size';
import { bannerFor, UpdateStore } from '../stores/updates.svelte';
import { ToastStore } from '../stores/toasts.svelte';
import { downloadPercent, updateErrorView, updateStatusText } from '../updates';

const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
const { responses, count } = backend;

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  return backend.api(real, {
    bootstrap: async () => ({
      info: { version: '0.1.0', profile: null, defaultServerUrl: 'ws://x', maxTextChars: 4096 },
      account: null,
      error: null,
      conversations: [],
      connection: { state: 'offline' },
    }),
  });
});

const NOW = new Date(2026, 2, 3, 10, 0).getTime();
const status = (state: UpdateState, more: Partial<UpdateStatus> = {}): UpdateStatus => ({
  currentVersion: '0.1.0',
  autoCheck: true,
  checkedAt: null,
  state,
  ...more,
});
const ready: UpdateState = { kind: 'ready', version: '0.2.0', notes: 'Faster.' };
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

/** The backend's status (what update_status answers). */
let truth: UpdateStatus;
beforeEach(() => {
  truth = status({ kind: 'idle' });
  backend.reset({
    update_status: () => structuredClone(truth),
    // (Like the backend: no check while an update is on its way, ready or being installed.)
    check_for_updates: () => {
      if (['idle', 'upToDate', 'failed'].includes(truth.state.kind)) truth = { ...truth, state: { kind: 'checking' } };
      return structuredClone(truth);
    },
    set_auto_update: (a: { enabled: boolean }) => structuredClone((truth = { ...truth, autoCheck: a.enabled })),
    install_update: () => {
      truth = { ...truth, state: { kind: 'installing', version: '0.2.0' } };
      return null;
    },
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

async function loaded(state: UpdateState = { kind: 'idle' }) {
  truth = status(state);
  const toasts = new ToastStore();
  const store = new UpdateStore(toasts);
  await store.load();
  return { store, toasts };
}

describe('loading', () => {
  it('nothing until loaded; then the backend status', async () => {
    const store = new UpdateStore(new ToastStore());
    expect([store.status, store.loaded, store.banner, store.busy]).toEqual([null, false, null, false]);
    const loading = store.load();
    expect(store.loading).toBe(true);
    expect(await loading).toBe(true);
    expect(store.status).toEqual(truth);
    expect([store.loaded, store.loading]).toEqual([true, false]);
  });

  it('a failed load says nothing (a line in the console); a later one works', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    responses.update_status = () => {
      throw { code: 'internal', message: 'boom' };
    };
    const toasts = new ToastStore();
    const store = new UpdateStore(toasts);
    expect(await store.load()).toBe(false);
    expect(store.status).toBeNull();
    expect(toasts.toasts).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(1);
    responses.update_status = () => structuredClone(truth);
    expect(await store.load()).toBe(true);
    expect(store.status).toEqual(truth);
  });

  it('an answer that is not a status is not shown', async () => {
    responses.update_status = () => ({ currentVersion: '0.1.0', state: { kind: 'party' } });
    const store = new UpdateStore(new ToastStore());
    await store.load();
    expect(store.status).toBeNull();
    store.event({ nonsense: true } as unknown as UpdateStatus);
    expect(store.status).toBeNull();
  });
});

describe('checking', () => {
  it('check_for_updates: checking at once, busy until it ends; the result comes as an event', async () => {
    const { store } = await loaded({ kind: 'upToDate' });
    const answer = deferred<UpdateStatus>();
    responses.check_for_updates = () => answer.promise;
    const checking = store.check();
    expect([store.checking, store.busy]).toEqual([true, true]);
    truth = { ...truth, state: { kind: 'checking' } };
    answer.resolve(structuredClone(truth));
    expect(await checking).toBe(true);
    expect(store.status?.state).toEqual({ kind: 'checking' });
    expect([store.checking, store.busy]).toEqual([false, true]);
    truth = { ...truth, state: { kind: 'upToDate' }, checkedAt: NOW };
    store.event(structuredClone(truth));
    await flush();
    expect(store.status).toEqual(truth);
    expect(store.busy).toBe(false);
  });

  it('refused (update_unsupported): a toast that says to use the package manager', async () => {
    responses.check_for_updates = () => {
      throw { code: 'update_unsupported', message: 'this build does not update itself' };
    };
    const { store, toasts } = await loaded();
    expect(await store.check()).toBe(false);
    expect(store.status?.state).toEqual({ kind: 'idle' });
    expect(toasts.toasts.map((t) => t.text)).toEqual([
      "This copy of Gtedx IM does not update itself (for example, it was installed by your system's package manager). Check your package manager for updates.",
    ]);
  });

  it('an answer that crossed the check’s own events: the store asks again and shows the backend', async () => {
    const { store } = await loaded({ kind: 'failed', error: { code: 'update_network', message: 'x' } });
    const answer = deferred<UpdateStatus>();
    responses.check_for_updates = () => answer.promise;
    void store.check();
    // The check ran at once: its events came before the answer (which says `checking`).
    truth = { ...truth, state: { kind: 'checking' } };
    store.event(structuredClone(truth));
    truth = { ...truth, state: { kind: 'upToDate' }, checkedAt: NOW };
    store.event(structuredClone(truth));
    answer.resolve(status({ kind: 'checking' }));
    await flush();
    expect(store.status).toEqual(truth);
    expect(count('update_status')).toBe(2); // the load, and once more after the crossing
  });
});

describe('events', () => {
  it('replace the status (also before any load), with the download’s progress', async () => {
    const store = new UpdateStore(new ToastStore());
    truth = status({ kind: 'downloading', version: '0.2.0', received: 10, total: 100 }, { checkedAt: NOW });
    store.event(structuredClone(truth));
    expect(store.status).toEqual(truth);
    expect(store.busy).toBe(true);
    await flush();
    expect(store.status).toEqual(truth);
  });

  it('an event older than an answer already shown is put right', async () => {
    const { store } = await loaded();
    const before = structuredClone(truth); // the event, sent before the change below
    await store.setAutoCheck(false);
    store.event(before);
    await flush();
    expect(store.status).toEqual({ ...before, autoCheck: false });
  });

  it('the app routes them to the store, signed in or not; it loads the status once at start', async () => {
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
    vi.resetModules();
    const { createApp } = await import('../store.svelte');
    const app = createApp();
    await app.boot();
    await flush();
    app.dispose();
    expect(app.phase).toBe('auth');
    expect(count('update_status')).toBe(1);
    truth = status(ready, { checkedAt: NOW });
    const event: ImEvent = { kind: 'update', status: structuredClone(truth) };
    backend.emit(event);
    expect(app.updates.status).toEqual(truth);
    expect(app.updates.banner?.version).toBe('0.2.0');
  });
});

describe('the automatic checks', () => {
  it('shown at once, sent, then as the backend answered', async () => {
    const { store } = await loaded();
    const answer = deferred<UpdateStatus>();
    responses.set_auto_update = () => answer.promise;
    const done = store.setAutoCheck(false);
    expect(store.status?.autoCheck).toBe(false);
    expect(backend.argsOf('set_auto_update')).toEqual([{ enabled: false }]);
    answer.resolve({ ...truth, autoCheck: false });
    expect(await done).toBe(true);
    expect(store.status?.autoCheck).toBe(false);
  });

  it('refused (the setting could not be saved): back, and a toast', async () => {
    responses.set_auto_update = () => {
      throw { code: 'cache', message: 'cannot save the setting: Permission denied' };
    };
    const { store, toasts } = await loaded();
    const done = store.setAutoCheck(false);
    expect(store.status?.autoCheck).toBe(false);
    expect(await done).toBe(false);
    expect(store.status?.autoCheck).toBe(true);
    expect(toasts.toasts.map((t) => t.text)).toEqual(['The app could not read or write its storage on this computer.']);
  });

  it('clicked twice quickly: the second click shows, whatever order the answers come in', async () => {
    const { store } = await loaded();
    const answers = [deferred<UpdateStatus>(), deferred<UpdateStatus>()];
    const [first, second] = answers;
    responses.set_auto_update = (a: { enabled: boolean }) => {
      truth = { ...truth, autoCheck: a.enabled };
      return answers.shift()!.promise;
    };
    void store.setAutoCheck(false);
    void store.setAutoCheck(true);
    expect(store.status?.autoCheck).toBe(true);
    second.resolve({ ...truth, autoCheck: true });
    await flush();
    first.resolve({ ...truth, autoCheck: false }); // older: dropped
    await flush();
    expect(store.status?.autoCheck).toBe(true);
    expect(count('update_status')).toBe(2);
  });
});

describe('installing and the banner', () => {
  it('a ready update: the banner; Restart installs (busy, "Restarting…"), the status says installing', async () => {
    const { store } = await loaded(ready);
    expect(store.banner).toEqual({ version: '0.2.0', installing: false, error: null });
    const answer = deferred<null>();
    responses.install_update = () => answer.promise;
    const installing = store.install();
    expect(store.banner?.installing).toBe(true);
    expect([store.installing, store.busy]).toEqual([true, true]);
    expect(await store.install()).toBe(false); // once
    expect(count('install_update')).toBe(1);
    truth = { ...truth, state: { kind: 'installing', version: '0.2.0' } };
    store.event(structuredClone(truth));
    answer.resolve(null);
    expect(await installing).toBe(true);
    expect(store.banner).toEqual({ version: '0.2.0', installing: true, error: null });
  });

  it('nothing ready: install does not ask', async () => {
    const { store } = await loaded({ kind: 'upToDate' });
    expect(await store.install()).toBe(false);
    expect(count('install_update')).toBe(0);
    expect(store.banner).toBeNull();
  });

  it('refused: the error in the banner (no toast), the update ready again; a new check clears it', async () => {
    const { store, toasts } = await loaded(ready);
    responses.install_update = () => {
      // (The backend's events: installing, then ready again, before the refusal.)
      store.event(status({ kind: 'installing', version: '0.2.0' }));
      store.event(status(ready));
      throw { code: 'update_install', message: 'dpkg exited with status 1' };
    };
    expect(await store.install()).toBe(false);
    expect(store.installFailure).toEqual({ version: '0.2.0', error: { code: 'update_install', message: 'dpkg exited with status 1' } });
    expect(store.banner).toEqual({
      version: '0.2.0',
      installing: false,
      error: { code: 'update_install', message: 'dpkg exited with status 1' },
    });
    expect(toasts.toasts).toEqual([]);
    await flush();
    expect(store.banner?.error?.code).toBe('update_install');
    await store.check();
    expect(store.installFailure).toBeNull();
    expect(store.banner).toEqual({ version: '0.2.0', installing: false, error: null });
  });

  it('refused, and the installing event arrives after the refusal: not shown as installing', async () => {
    const { store } = await loaded(ready);
    responses.install_update = () => {
      throw { code: 'update_install', message: 'no update is ready' };
    };
    await store.install();
    store.event(status({ kind: 'installing', version: '0.2.0' }));
    expect(store.banner?.installing).toBe(false);
    expect(store.installing).toBe(false);
    expect(store.banner?.error?.code).toBe('update_install');
  });

  it('a refused install is shown only while its update is the one waiting', async () => {
    const { store } = await loaded(ready);
    responses.install_update = () => {
      throw { code: 'update_install', message: 'x' };
    };
    await store.install();
    // (An event older than the refusal, e.g. the download's progress, arriving after it.)
    store.event(status({ kind: 'downloading', version: '0.2.0', received: 5, total: null }));
    expect([store.installFailure, store.banner]).toEqual([null, null]);
    store.event(status(ready));
    expect(store.banner).toEqual({ version: '0.2.0', installing: false, error: { code: 'update_install', message: 'x' } });
    store.event(status({ kind: 'ready', version: '0.3.0', notes: null }));
    expect(store.banner).toEqual({ version: '0.3.0', installing: false, error: null });
    expect(store.installFailure).toBeNull();
  });

  it('Later: the banner goes for this version, for the session; another version shows again', async () => {
    const { store } = await loaded(ready);
    store.dismiss();
    expect(store.banner).toBeNull();
    expect(store.status?.state).toEqual(ready); // (Settings still offers it)
    store.event(status({ kind: 'installing', version: '0.2.0' }));
    expect(store.banner).toBeNull();
    store.event(status({ kind: 'ready', version: '0.3.0', notes: null }));
    expect(store.banner?.version).toBe('0.3.0');
    store.dismiss();
    expect([...store.dismissed]).toEqual(['0.2.0', '0.3.0']);
    store.dismiss(); // nothing shown: nothing more
    expect([...store.dismissed]).toEqual(['0.2.0', '0.3.0']);
  });
});

describe('bannerFor', () => {
  const none = new Set<string>();
  it('only for an update ready or being installed, not put away', () => {
    const refused = { version: '0.2.0', error: { code: 'update_install', message: '' } };
    for (const state of [
      { kind: 'idle' },
      { kind: 'checking' },
      { kind: 'upToDate' },
      { kind: 'downloading', version: '0.2.0', received: 1, total: null },
      { kind: 'failed', error: { code: 'update_network', message: '' } },
    ] as UpdateState[]) {
      expect(bannerFor(status(state), refused, none, false), state.kind).toBeNull();
    }
    expect(bannerFor(null, null, none, true)).toBeNull();
    expect(bannerFor(status(ready), refused, none, false)).toEqual({ version: '0.2.0', installing: false, error: refused.error });
    expect(bannerFor(status({ kind: 'installing', version: '0.2.0' }), null, none, false)).toEqual({
      version: '0.2.0',
      installing: true,
      error: null,
    });
    // A refusal of another version says nothing about this one.
    const other = { version: '0.1.5', error: { code: 'update_install', message: '' } };
    expect(bannerFor(status(ready), other, none, false)?.error).toBeNull();
    expect(bannerFor(status(ready), null, new Set(['0.2.0']), false)).toBeNull();
  });
});

describe('the texts', () => {
  const en = createTranslator('en');
  const zh = createTranslator('zh-CN');
  const text = (state: UpdateState, more: Partial<UpdateStatus> = {}, locale: 'en' | 'zh-CN' = 'en') =>
    updateStatusText(status(state, more), locale === 'en' ? en : zh, locale, NOW);

  it('the Settings status line for each state, in English and Chinese', () => {
    expect(text({ kind: 'idle' })).toBe('');
    expect(text({ kind: 'checking' })).toBe('Checking for updates…');
    expect(text({ kind: 'checking' }, {}, 'zh-CN')).toBe('正在检查更新…');
    expect(text({ kind: 'upToDate' }, { checkedAt: NOW - 20 * 60_000 })).toBe('You’re up to date (checked 09:40)');
    expect(text({ kind: 'upToDate' }, { checkedAt: new Date(2026, 2, 1, 8, 5).getTime() })).toBe('You’re up to date (checked Mar 1, 08:05)');
    expect(text({ kind: 'upToDate' }, { checkedAt: NOW - 20 * 60_000 }, 'zh-CN')).toBe('已是最新版本（检查于 09:40）');
    expect(text({ kind: 'upToDate' })).toBe('You’re up to date');
    expect(text({ kind: 'downloading', version: '0.2.0', received: 4_200_000, total: 10_000_000 })).toBe('Downloading version 0.2.0… 42%');
    expect(text({ kind: 'downloading', version: '0.2.0', received: 4_200_000, total: 10_000_000 }, {}, 'zh-CN')).toBe('正在下载版本 0.2.0… 42%');
    expect(text({ kind: 'downloading', version: '0.2.0', received: 12_345_678, total: null })).toBe('Downloading version 0.2.0… 12.3 MB');
    expect(text({ kind: 'downloading', version: '0.2.0', received: 12_345_678, total: null }, {}, 'zh-CN')).toBe('正在下载版本 0.2.0… 已下载 12.3 MB');
    expect(text(ready)).toBe('Version 0.2.0 is ready');
    expect(text(ready, {}, 'zh-CN')).toBe('版本 0.2.0 已准备就绪');
    expect(text({ kind: 'installing', version: '0.2.0' })).toBe('Installing version 0.2.0…');
    expect(text({ kind: 'failed', error: { code: 'update_signature', message: 'minisign: bad signature' } })).toBe(
      'The downloaded update failed its signature check, so it was not installed: it may have been tampered with. Try again later.',
    );
    expect(text({ kind: 'failed', error: { code: 'update_network', message: 'dns error' } }, {}, 'zh-CN')).toBe(
      'Gtedx IM 无法连接到更新服务器。请检查网络连接，然后重试。',
    );
  });

  it('a download’s percent: whole, within 0–100; none when the size is not known', () => {
    expect(downloadPercent(0, 100)).toBe(0);
    expect(downloadPercent(999, 1000)).toBe(99);
    expect(downloadPercent(1000, 1000)).toBe(100);
    expect(downloadPercent(2000, 1000)).toBe(100);
    expect(downloadPercent(-5, 1000)).toBe(0);
    expect(downloadPercent(5, null)).toBeNull();
    expect(downloadPercent(5, 0)).toBeNull();
  });

  it('update errors: a sentence of their own; the backend’s message only for update_install', () => {
    expect(updateErrorView('en', { code: 'update_install', message: 'dpkg exited with status 1' })).toEqual({
      text: 'The update could not be installed. Gtedx IM keeps running this version.',
      detail: 'Dpkg exited with status 1.',
    });
    expect(updateErrorView('zh-CN', { code: 'update_install', message: '' })).toEqual({ text: '无法安装更新。Gtedx IM 会继续使用当前版本。' });
    expect(updateErrorView('en', { code: 'update_format', message: 'InvalidUpdaterFormat' })).toEqual({
      text: 'The downloaded update is not an installer for this system, so it was not installed.',
    });
    expect(updateErrorView('en', { code: 'update_network', message: 'error sending request' }).text).toBe(
      'Gtedx IM could not reach its update server. Check your internet connection, then try again.',
    );
    expect(updateErrorView('zh-CN', { code: 'update_signature', message: 'x' }).text).toContain('篡改');
  });

  it('sizes: KB, MB or GB with one decimal (1 KB = 1,000 bytes); counts grouped', () => {
    expect(formatSize(0, 'en')).toBe('0.0 KB');
    expect(formatSize(45_056, 'en')).toBe('45.1 KB');
    expect(formatSize(999_949, 'en')).toBe('999.9 KB');
    expect(formatSize(999_960, 'en')).toBe('1.0 MB');
    expect(formatSize(12_345_678, 'en')).toBe('12.3 MB');
    expect(formatSize(12_345_678, 'zh-CN')).toBe('12.3 MB');
    expect(formatSize(2_100_000_000, 'en')).toBe('2.1 GB');
    expect(formatSize(3_000_000_000_000, 'en')).toBe('3,000.0 GB');
    expect(formatSize(Number.NaN, 'en')).toBe('0.0 KB');
    expect(formatSize(-1, 'en')).toBe('0.0 KB');
    expect(formatCount(12_345, 'en')).toBe('12,345');
    expect(formatCount(12_345, 'zh-CN')).toBe('12,345');
    expect(formatCount(Number.NaN, 'en')).toBe('0');
  });
});
