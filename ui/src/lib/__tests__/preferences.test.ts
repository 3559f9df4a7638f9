// The preferences (`PreferenceStore`) against a fake backend: whether notifications show the
// message text, kept in localStorage (broken storage: on), and sent with set_notification_text at
// start-up and on every change (a refusal is a toast); the theme (shown at once as `data-theme`)
// and the language (a change reloads the window), kept in the same saved object.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PREFERENCES_KEY, PreferenceStore, type PreferenceStorage } from '../stores/preferences.svelte';
import { ToastStore } from '../stores/toasts.svelte';

const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
const { responses, argsOf } = backend;

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

/** A localStorage of its own. */
function memoryStorage(entries: Record<string, string> = {}): PreferenceStorage & { entries: Map<string, string> } {
  const map = new Map(Object.entries(entries));
  return {
    entries: map,
    getItem: (k) => map.get(k) ?? null,
    setItem: (k, v) => void map.set(k, v),
  };
}

/** A new app (its own module instance) booted with this as localStorage. */
async function bootedApp(storage: PreferenceStorage) {
  vi.stubGlobal('localStorage', storage);
  vi.resetModules();
  const { createApp } = await import('../store.svelte');
  const app = createApp();
  await app.boot();
  app.dispose();
  return app;
}

beforeEach(() => backend.reset({}));
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('notification text', () => {
  it('is on by default, and start-up tells the backend', async () => {
    const app = await bootedApp(memoryStorage());
    expect(app.preferences.notificationText).toBe(true);
    expect(argsOf('set_notification_text')).toEqual([{ show: true }]);
  });

  it('a change is saved and sent; a new store reads it back, and start-up sends it', async () => {
    const storage = memoryStorage();
    const store = new PreferenceStore(new ToastStore(), storage);
    await store.setNotificationText(false);
    expect(store.notificationText).toBe(false);
    expect(argsOf('set_notification_text')).toEqual([{ show: false }]);
    expect(JSON.parse(storage.entries.get(PREFERENCES_KEY)!)).toEqual({ notificationText: false, theme: 'system', language: 'system' });
    expect(new PreferenceStore(new ToastStore(), storage).notificationText).toBe(false);

    backend.reset({});
    const app = await bootedApp(storage);
    expect(app.preferences.notificationText).toBe(false);
    expect(argsOf('set_notification_text')).toEqual([{ show: false }]);
  });

  it('corrupt, missing or unusable storage means on', () => {
    const toasts = new ToastStore();
    for (const saved of ['{', 'null', '42', '"off"', '[]', '{}', '{"notificationText":"false"}', '{"notificationText":0}']) {
      expect(new PreferenceStore(toasts, memoryStorage({ [PREFERENCES_KEY]: saved })).notificationText, saved).toBe(true);
    }
    expect(new PreferenceStore(toasts, null).notificationText).toBe(true);
    const blocked: PreferenceStorage = {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
    };
    expect(new PreferenceStore(toasts, blocked).notificationText).toBe(true);
    // No localStorage at all, or one that throws when touched.
    vi.stubGlobal('localStorage', undefined);
    expect(new PreferenceStore(toasts).notificationText).toBe(true);
    Object.defineProperty(globalThis, 'localStorage', {
      configurable: true,
      get() {
        throw new DOMException('denied', 'SecurityError');
      },
    });
    try {
      expect(new PreferenceStore(toasts).notificationText).toBe(true);
    } finally {
      delete (globalThis as { localStorage?: unknown }).localStorage;
    }
  });

  it('storage that cannot be written still changes it for now (and tells the backend)', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const full: PreferenceStorage = {
      getItem: () => null,
      setItem: () => {
        throw new DOMException('full', 'QuotaExceededError');
      },
    };
    const store = new PreferenceStore(new ToastStore(), full);
    await store.setNotificationText(false);
    expect(store.notificationText).toBe(false);
    expect(argsOf('set_notification_text')).toEqual([{ show: false }]);
    expect(warn).toHaveBeenCalled();
  });

  it('a backend refusal is a toast', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    responses.set_notification_text = () => {
      throw { code: 'internal', message: 'boom' };
    };
    const toasts = new ToastStore();
    await new PreferenceStore(toasts, memoryStorage()).setNotificationText(false);
    expect(toasts.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
    expect(error).toHaveBeenCalled();
  });
});

describe('theme and language', () => {
  /** A store with its own storage, and what it did to the page. */
  function store(saved?: string, opts: { locale?: 'en' | 'zh-CN'; languages?: string[] } = {}) {
    const storage = memoryStorage(saved === undefined ? {} : { [PREFERENCES_KEY]: saved });
    const themes: string[] = [];
    const reload = vi.fn();
    const s = new PreferenceStore(new ToastStore(), {
      storage,
      applyTheme: (theme) => themes.push(theme),
      reload,
      locale: opts.locale ?? 'en',
      languages: () => opts.languages ?? ['en-US', 'en'],
    });
    const saved_ = () => JSON.parse(storage.entries.get(PREFERENCES_KEY) ?? 'null');
    return { s, storage, themes, reload, saved: saved_ };
  }

  it('default to following the system', () => {
    const { s } = store();
    expect([s.theme, s.language, s.notificationText]).toEqual(['system', 'system', true]);
  });

  it('read an older saved object (only notificationText): the others are the defaults', () => {
    const { s } = store('{"notificationText":false}');
    expect([s.theme, s.language, s.notificationText]).toEqual(['system', 'system', false]);
  });

  it('each saved value is read on its own: a bad one is its default, the others stay', () => {
    const cases: [string, [string, string, boolean]][] = [
      ['{"theme":"dark","language":"zh-CN","notificationText":false}', ['dark', 'zh-CN', false]],
      ['{"theme":"light"}', ['light', 'system', true]],
      ['{"theme":"blue","language":"zh-CN"}', ['system', 'zh-CN', true]],
      ['{"theme":"DARK","language":"fr","notificationText":false}', ['system', 'system', false]],
      ['{"theme":1,"language":null}', ['system', 'system', true]],
      ['{"theme":"dark"', ['system', 'system', true]],
      ['["dark"]', ['system', 'system', true]],
      ['"dark"', ['system', 'system', true]],
      ['null', ['system', 'system', true]],
    ];
    for (const [saved, want] of cases) {
      const { s } = store(saved);
      expect([s.theme, s.language, s.notificationText], saved).toEqual(want);
    }
  });

  it('the theme is saved with the rest, shown at once, and read back by the next start', () => {
    const { s, storage, themes, saved } = store('{"notificationText":false}');
    s.setTheme('dark');
    expect(s.theme).toBe('dark');
    expect(themes).toEqual(['dark']);
    expect(saved()).toEqual({ notificationText: false, theme: 'dark', language: 'system' });
    expect(new PreferenceStore(new ToastStore(), storage).theme).toBe('dark');
    s.setTheme('system');
    expect(themes).toEqual(['dark', 'system']);
    expect(new PreferenceStore(new ToastStore(), storage).theme).toBe('system');
  });

  it('what else the saved object holds (a newer version of the app) is kept', () => {
    const { s, saved } = store('{"notificationText":true,"fontSize":"large"}');
    s.setTheme('light');
    expect(saved()).toEqual({ notificationText: true, theme: 'light', language: 'system', fontSize: 'large' });
  });

  it('a language that changes the UI is saved, then the window reloads to show it', () => {
    const { s, storage, reload, saved } = store(undefined, { locale: 'en', languages: ['en-US'] });
    reload.mockImplementation(() => {
      // Saved before the reload: the next start reads it.
      expect(saved().language).toBe('zh-CN');
    });
    s.setLanguage('zh-CN');
    expect(reload).toHaveBeenCalledTimes(1);
    expect(s.language).toBe('zh-CN');
    expect(new PreferenceStore(new ToastStore(), storage).language).toBe('zh-CN');
  });

  it('a language that does not change the UI is saved without a reload', () => {
    // English on an English system: choosing English, or System, shows the same texts.
    const en = store(undefined, { locale: 'en', languages: ['en-US'] });
    en.s.setLanguage('en');
    en.s.setLanguage('system');
    expect(en.reload).not.toHaveBeenCalled();
    expect(en.saved().language).toBe('system');
    // Chinese chosen on an English system: back to System is English, a reload.
    const zh = store('{"language":"zh-CN"}', { locale: 'zh-CN', languages: ['en-US'] });
    zh.s.setLanguage('system');
    expect(zh.reload).toHaveBeenCalledTimes(1);
    // On a Chinese system it is not.
    const zhSystem = store('{"language":"zh-CN"}', { locale: 'zh-CN', languages: ['zh-CN'] });
    zhSystem.s.setLanguage('system');
    expect(zhSystem.reload).not.toHaveBeenCalled();
  });

  it('localeOf: what a choice shows on this system', () => {
    expect(store(undefined, { languages: ['zh-TW', 'en'] }).s.localeOf('system')).toBe('zh-CN');
    expect(store(undefined, { languages: ['de-DE', 'zh-CN'] }).s.localeOf('system')).toBe('en');
    expect(store(undefined, { languages: ['de-DE'] }).s.localeOf('zh-CN')).toBe('zh-CN');
  });

  it('storage that cannot be written: the theme still shows, the language still reloads', () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const themes: string[] = [];
    const reload = vi.fn();
    const s = new PreferenceStore(new ToastStore(), {
      storage: {
        getItem: () => null,
        setItem: () => {
          throw new DOMException('full', 'QuotaExceededError');
        },
      },
      applyTheme: (theme) => themes.push(theme),
      reload,
      locale: 'en',
      languages: () => ['en'],
    });
    s.setTheme('light');
    s.setLanguage('zh-CN');
    expect(themes).toEqual(['light']);
    expect(reload).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledTimes(2);
  });
});

describe('applyTheme', () => {
  it('sets data-theme on the element for light and dark, and removes it for system', async () => {
    const { applyTheme } = await import('../savedPreferences');
    const attrs = new Map<string, string>();
    const root = {
      setAttribute: (k: string, v: string) => void attrs.set(k, v),
      removeAttribute: (k: string) => void attrs.delete(k),
    } as unknown as HTMLElement;
    applyTheme('dark', root);
    expect(attrs.get('data-theme')).toBe('dark');
    applyTheme('light', root);
    expect(attrs.get('data-theme')).toBe('light');
    applyTheme('system', root);
    expect(attrs.has('data-theme')).toBe(false);
    applyTheme('dark', null); // no document: nothing to do, no throw
  });
});
