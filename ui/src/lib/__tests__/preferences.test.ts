// The preferences (`PreferenceStore`) against a fake backend: whether notifications show the
// message text, kept in localStorage (broken storage: on), and sent with set_notification_text at
// start-up and on every change; a refusal is a toast.
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
    expect(JSON.parse(storage.entries.get(PREFERENCES_KEY)!)).toEqual({ notificationText: false });
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
