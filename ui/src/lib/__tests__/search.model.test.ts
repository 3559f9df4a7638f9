// A model-based test of the message search (`SearchStore`) against the mock backend, with
// fast-check choosing random interleavings of
//  - what the user does: type a query (replace it, add a character, delete one, add spaces),
//    clear the box, close the search, open it again, retry after a failure;
//  - time: the typing pause (the debounce timer, fired when the test says);
//  - the backend: each answer goes through fast-check's scheduler, so answers to older queries
//    arrive before, after or between newer ones; some questions fail.
// At every step the hits shown are exactly the backend's answer to the current query, asked for
// that query (never an older one's, however late it arrives); a blank query or a closed search
// shows none; an error shown is the current query's. Once everything has arrived, an open search
// with a query shows its hits (or its failure).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SearchHit } from '../api';
import { searchKey } from '../highlight';
import { createMockBackend } from '../mock';
import { groupHits, SEARCH_LIMIT, SearchStore, type Timers } from '../stores/search.svelte';

type Action =
  | { kind: 'type'; text: string }
  | { kind: 'append'; text: string }
  | { kind: 'backspace' }
  | { kind: 'clear' }
  | { kind: 'close' }
  | { kind: 'show' }
  | { kind: 'pause' }
  | { kind: 'deliver'; count: number }
  | { kind: 'failNext'; fail: boolean }
  | { kind: 'retry' };

const words = fc.constantFrom('', ' ', 'i', 'will', 'WILL ', 'i will', 'cheese', '起床', '床', 'jerry 吃饭', '#1', 'zzz', '🧀', '  tom  ');
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('type' as const), text: words }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('append' as const), text: fc.constantFrom('e', ' ', '1', '床', 'S') }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'backspace' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'clear' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'close' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'show' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'pause' as const }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('failNext' as const), fail: fc.boolean() }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'retry' as const }), weight: 1 },
);

const microtasks = async (count = 20) => {
  for (let i = 0; i < count; i++) await Promise.resolve();
};

async function setup(s: fc.Scheduler) {
  let clock = 1_700_000_000_000;
  const mock = createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history: 40,
    deliver: () => {},
    now: () => (clock += 1000),
  });
  await mock.invoke('restore_session');
  mock.control.incoming('c-group', 'u-jerry', '耗子，起床啦');
  mock.control.incoming('c-group', 'u-spike', '起来吃饭了 jerry');
  mock.control.incoming('c-spike', 'u-spike', 'Tom, the cheese 🧀 is mine');

  /** The reference: the backend's answer to a query, asked directly. */
  const answers = new Map<string, SearchHit[]>();
  const reference = async (query: string) => {
    if (!answers.has(query)) answers.set(query, await mock.invoke<SearchHit[]>('search_messages', { query, limit: SEARCH_LIMIT }));
    return answers.get(query)!;
  };

  /** The debounce timer, fired by the test ('pause'). */
  const timers = new Map<number, () => void>();
  let nextTimer = 0;
  const fakeTimers: Timers = {
    set: (fn) => {
      timers.set(++nextTimer, fn);
      return nextTimer;
    },
    clear: (h) => timers.delete(h as number),
  };

  /** Which query each answer (by identity) was asked for; whether the next question fails. */
  const askedFor = new Map<SearchHit[], string>();
  const failedFor: string[] = [];
  let failNext = false;
  const store = new SearchStore({
    timers: fakeTimers,
    search: (query) => {
      if (failNext) {
        failedFor.push(searchKey(query));
        return s.schedule(Promise.resolve(), `fail ${query}`).then((): SearchHit[] => {
          throw { code: 'internal', message: 'disk I/O error' };
        });
      }
      const answer = mock.invoke<SearchHit[]>('search_messages', { query, limit: SEARCH_LIMIT }).then((hits) => {
        askedFor.set(hits, searchKey(query));
        return hits;
      });
      return s.schedule(answer, query);
    },
  });
  return {
    store,
    reference,
    timers,
    askedFor,
    failedFor,
    setFailNext: (fail: boolean) => (failNext = fail),
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** What must hold at any time, whatever is still on its way. */
async function checkAlways({ store, reference, askedFor, failedFor }: Setup): Promise<void> {
  const key = searchKey(store.query);
  if (!store.open) expect(store.query, 'a closed search is empty').toBe('');
  if (!key) {
    expect(store.status, 'a blank query searches nothing').toBe('idle');
    expect(store.hits).toEqual([]);
  }
  if (store.status === 'searching' || store.status === 'idle') expect(store.hits, 'no hits while searching').toEqual([]);
  if (store.hits.length > 0) expect(store.status).toBe('done');
  if (store.status === 'done') {
    expect(store.resultKey, 'the hits are the current query’s').toBe(key);
    expect(askedFor.get(store.hits), 'the hits were asked for the current query').toBe(key);
    expect(store.hits, 'the backend’s answer to it').toEqual(await reference(store.query.trim()));
    expect(store.terms).toEqual(key.split(' '));
    expect(store.groups).toEqual(groupHits(store.hits));
    expect(store.flat).toHaveLength(store.hits.length);
    expect(store.activeIndex()).toBeLessThan(Math.max(1, store.hits.length));
  }
  if (store.status === 'error') {
    expect(store.resultKey, 'the error is the current query’s').toBe(key);
    expect(failedFor, 'a question about it failed').toContain(key);
    expect(store.error?.code).toBe('internal');
    expect(store.hits).toEqual([]);
  }
}

async function run(s: fc.Scheduler, actions: Action[]): Promise<void> {
  const setup_ = await setup(s);
  const { store, timers, setFailNext } = setup_;
  store.show();
  const fire = () => {
    for (const [id, fn] of [...timers]) {
      timers.delete(id);
      fn();
    }
  };
  for (const a of actions) {
    switch (a.kind) {
      case 'type':
        if (store.open) store.setQuery(a.text);
        break;
      case 'append':
        if (store.open) store.setQuery(store.query + a.text);
        break;
      case 'backspace':
        if (store.open) store.setQuery([...store.query].slice(0, -1).join(''));
        break;
      case 'clear':
        store.clear();
        break;
      case 'close':
        store.close();
        break;
      case 'show':
        store.show();
        break;
      case 'pause':
        fire();
        break;
      case 'deliver':
        for (let i = 0; i < a.count && s.count() > 0; i++) await s.waitOne();
        break;
      case 'failNext':
        setFailNext(a.fail);
        break;
      case 'retry':
        if (store.status === 'error') store.retry();
        break;
    }
    await microtasks();
    await checkAlways(setup_);
  }
  // Everything arrives.
  fire();
  await s.waitAll();
  await microtasks();
  await checkAlways(setup_);
  const key = searchKey(store.query);
  if (!store.open || !key) {
    expect(store.status).toBe('idle');
  } else {
    expect(['done', 'error']).toContain(store.status);
    if (store.status === 'done') expect(store.hits).toEqual(await setup_.reference(store.query.trim()));
  }
}

describe('the message search, model-based', () => {
  it('shows only the current query’s hits, whatever the typing and the order answers arrive in', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(action, { minLength: 1, maxLength: 40 }), (s, actions) => run(s, actions)),
      { numRuns: 150 },
    );
  });

  it('a late answer to an older query is dropped (a fixed run)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), async (s) => {
        const setup_ = await setup(s);
        const { store, timers } = setup_;
        const fire = () => [...timers.values()].forEach((f) => f());
        store.show();
        store.setQuery('cheese');
        fire();
        timers.clear();
        store.setQuery('起床');
        fire();
        timers.clear();
        expect(store.status).toBe('searching');
        await s.waitAll(); // both answers, in any order
        await microtasks();
        await checkAlways(setup_);
        expect(store.status).toBe('done');
        expect(store.hits.map((h) => h.message.text)).toEqual(['耗子，起床啦']);
      }),
      { numRuns: 20 },
    );
  });

  it('typing that does not change the query’s meaning asks nothing again; blank asks nothing', async () => {
    const asked: string[] = [];
    const timers = new Map<number, () => void>();
    let n = 0;
    const store = new SearchStore({
      search: async (q) => {
        asked.push(q);
        return [];
      },
      timers: { set: (fn) => (timers.set(++n, fn), n), clear: (h) => timers.delete(h as number) },
    });
    const fire = () => {
      for (const [id, fn] of [...timers]) {
        timers.delete(id);
        fn();
      }
    };
    store.setQuery('Jerry');
    store.setQuery('Jerry ');
    store.setQuery(' jerry');
    fire();
    await microtasks();
    expect(asked).toEqual([' jerry'.trim()]);
    expect(store.status).toBe('done');
    store.setQuery('JERRY  ');
    fire();
    expect(asked).toHaveLength(1);
    store.setQuery('   ');
    fire();
    expect(asked).toHaveLength(1);
    expect(store.status).toBe('idle');
  });
});
