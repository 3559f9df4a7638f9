// The messages kept on this computer (`CacheStore`, Settings' Storage section) against a fake
// backend: the usage loaded (its failure kept for the dialog), clearing it (the usage after it; the
// list and the open conversation load again, as after a resync; a refusal is a toast), answers in
// the wrong order, and signing out.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CacheUsage } from '../api';
import { CacheStore } from '../stores/cache.svelte';
import { conv } from './fixtures';

const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
const { responses, count, argsOf } = backend;

const account = { uid: 'u-tom', username: 'tom', displayName: 'Tom', serverUrl: 'ws://x' };

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  return backend.api(real, {
    bootstrap: async () => ({
      info: { version: '1', profile: null, defaultServerUrl: 'ws://x', maxTextChars: 4096 },
      account,
      error: null,
      conversations: [conv({ id: 'c1', lastActivity: 1 })],
      connection: { state: 'online' },
    }),
  });
});

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A promise to answer later, by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

const full: CacheUsage = { bytes: 12_345_678, messages: 2_004 };
const empty: CacheUsage = { bytes: 45_056, messages: 0 };
let usage: CacheUsage;

beforeEach(() => {
  usage = { ...full };
  backend.reset({
    cache_usage: () => ({ ...usage }),
    clear_cache: () => ({ ...(usage = { ...empty }) }),
    list_conversations: () => [conv({ id: 'c1', lastActivity: 1 })],
    load_messages: () => ({ messages: [], hasMore: false }),
    blocked_users: () => [],
  });
});
afterEach(() => {
  vi.unstubAllGlobals();
});

/** A store for the signed-in account; `cleared` counts the reloads it asked for. */
function store(signedIn = true) {
  const who = { current: signedIn ? account : null };
  const cleared = vi.fn();
  return { cache: new CacheStore({ account: () => who.current, cleared }), cleared, who };
}

describe('the usage', () => {
  it('nothing until loaded; then the backend’s', async () => {
    const { cache } = store();
    expect([cache.usage, cache.loading, cache.error]).toEqual([null, false, null]);
    const loading = cache.load();
    expect(cache.loading).toBe(true);
    expect(await loading).toBe(true);
    expect(cache.usage).toEqual(full);
    expect(cache.loading).toBe(false);
  });

  it('signed out: not asked', async () => {
    const { cache } = store(false);
    expect(await cache.load()).toBe(false);
    expect(count('cache_usage')).toBe(0);
  });

  it('a failed load is kept for the dialog (Try again); a later one clears it', async () => {
    responses.cache_usage = () => {
      throw { code: 'cache', message: 'database is locked' };
    };
    const { cache } = store();
    expect(await cache.load()).toBe(false);
    expect(cache.error).toEqual({ code: 'cache', message: 'database is locked' });
    expect(cache.usage).toBeNull();
    responses.cache_usage = () => ({ ...usage });
    expect(await cache.load()).toBe(true);
    expect([cache.usage, cache.error]).toEqual([full, null]);
  });

  it('the last load asked for wins, whatever order the answers come in', async () => {
    const { cache } = store();
    const answers = [deferred<CacheUsage>(), deferred<CacheUsage>()];
    const [first, second] = answers;
    responses.cache_usage = () => answers.shift()!.promise;
    void cache.load();
    void cache.load();
    second.resolve({ bytes: 2, messages: 2 });
    await flush();
    first.resolve({ bytes: 1, messages: 1 });
    await flush();
    expect(cache.usage).toEqual({ bytes: 2, messages: 2 });
  });
});

describe('clearing', () => {
  it('the usage after it is shown, and the app is asked to reload', async () => {
    const { cache, cleared } = store();
    await cache.load();
    const clearing = cache.clear();
    expect(cache.clearing).toBe(true);
    expect(await clearing).toBeNull();
    expect(cache.clearing).toBe(false);
    expect(cache.usage).toEqual(empty);
    expect(cleared).toHaveBeenCalledTimes(1);
  });

  it('refused: why, the usage as it was, no reload', async () => {
    responses.clear_cache = () => {
      throw { code: 'cache', message: 'Permission denied' };
    };
    const { cache, cleared } = store();
    await cache.load();
    expect(await cache.clear()).toEqual({ code: 'cache', message: 'Permission denied' });
    expect(cache.usage).toEqual(full);
    expect(cleared).not.toHaveBeenCalled();
  });

  it('a load asked before the clear, answered after it, does not bring the old usage back', async () => {
    const { cache } = store();
    const old = deferred<CacheUsage>();
    responses.cache_usage = () => old.promise;
    void cache.load();
    await cache.clear();
    old.resolve({ ...full });
    await flush();
    expect(cache.usage).toEqual(empty);
    // While a clear is on its way, a load waits for its answer instead.
    const done = deferred<CacheUsage>();
    responses.clear_cache = () => done.promise;
    const clearing = cache.clear();
    expect(await cache.load()).toBe(false);
    expect(await cache.clear()).toBeNull(); // (once at a time)
    done.resolve({ ...empty });
    await clearing;
    expect(count('clear_cache')).toBe(2);
  });

  it('signed out meanwhile: nothing of the account stays, the answer is dropped', async () => {
    const { cache, cleared, who } = store();
    await cache.load();
    const answer = deferred<CacheUsage>();
    responses.clear_cache = () => answer.promise;
    const clearing = cache.clear();
    who.current = null;
    cache.reset();
    answer.resolve({ ...empty });
    expect(await clearing).toBeNull();
    expect(cache.usage).toBeNull();
    expect(cleared).not.toHaveBeenCalled();
  });
});

describe('the app', () => {
  it('clearing reloads the list and the open conversation (as a resync does); a refusal is a toast', async () => {
    vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => {} });
    vi.resetModules();
    const { createApp } = await import('../store.svelte');
    const app = createApp();
    await app.boot();
    app.dispose();
    expect(app.phase).toBe('main');
    await app.select('c1');
    await flush();
    const [lists, pages] = [count('list_conversations'), count('load_messages')];
    expect(await app.clearCache()).toBe(true);
    await flush();
    expect(app.cache.usage).toEqual(empty);
    expect(count('list_conversations')).toBe(lists + 1);
    expect(count('load_messages')).toBe(pages + 1);
    expect(argsOf('load_messages').slice(-1)[0]).toMatchObject({ conversationId: 'c1', beforeSeq: null });

    responses.clear_cache = () => {
      throw { code: 'cache', message: 'Permission denied' };
    };
    expect(await app.clearCache()).toBe(false);
    expect(app.toasts.map((t) => t.text)).toEqual(['The app could not read or write its storage on this computer.']);
    expect(count('list_conversations')).toBe(lists + 1);

    // Signing out forgets the usage.
    await app.signOut();
    expect(app.cache.usage).toBeNull();
  });
});
