import { afterEach, describe, expect, it, vi } from 'vitest';
import fc from 'fast-check';
import type { UserInfo } from '../api';
import {
  foldForSearch,
  hasChatWith,
  LatestLookup,
  matchConversations,
  matchRank,
  personToOffer,
  SWITCHER_LOOKUP_DELAY_MS,
  usernameQuery,
} from '../quickSwitcher';
import { blockedChatText, lookUpPerson, startChatErrorText, typedUsername } from '../newChat';
import { createTranslator } from '../i18n';
import { conv } from './fixtures';

const jerry = conv({ id: 'c-jerry', displayTitle: 'Jerry', peer: { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' }, lastActivity: 30 });
const fake = conv({
  id: 'c-fake',
  title: 'Jerry (new account)',
  displayTitle: 'J\u0435rry',
  peer: { uid: 'u-fake', username: 'jerry_official', displayName: 'J\u0435rry' },
  lastActivity: 20,
});
const rats = conv({ id: 'c-rats', type: 'GROUP_CHAT', title: '耗子的群', displayTitle: '耗子的群', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 10 });
const club = conv({ id: 'c-club', type: 'GROUP_CHAT', title: 'Cat & Mouse Club', displayTitle: 'Cat & Mouse Club', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 40 });
const clubbers = conv({ id: 'c-clubbers', type: 'GROUP_CHAT', title: 'Clubbers', displayTitle: 'Clubbers', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 5 });
const nightclub = conv({ id: 'c-night', type: 'GROUP_CHAT', title: 'Nightclub', displayTitle: 'Nightclub', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 50 });
const items = [nightclub, club, jerry, fake, rats, clubbers];
const ids = (list: { id: string }[]) => list.map((c) => c.id);

describe('which conversations match', () => {
  it('Chinese substrings: “耗子” finds “耗子的群”, and so does “的群”', () => {
    expect(ids(matchConversations(items, '耗子'))).toEqual(['c-rats']);
    expect(ids(matchConversations(items, '的群'))).toEqual(['c-rats']);
    expect(matchConversations(items, '猫')).toEqual([]);
  });

  it('case-insensitive, full-width letters as ASCII ones', () => {
    expect(ids(matchConversations(items, 'JERRY'))).toEqual(['c-jerry', 'c-fake']); // @jerry_official
    expect(ids(matchConversations(items, 'ｊｅｒｒｙ'))).toEqual(['c-jerry', 'c-fake']);
  });

  it('by the person’s username; `@name` searches usernames only', () => {
    expect(ids(matchConversations(items, 'official'))).toEqual(['c-fake']);
    expect(ids(matchConversations(items, '@jerry'))).toEqual(['c-jerry', 'c-fake']);
    expect(ids(matchConversations(items, '@club'))).toEqual([]);
  });

  it('a 1:1 chat’s stored title is not who the person is: not searched', () => {
    expect(ids(matchConversations(items, 'new account'))).toEqual([]);
  });

  it('a prefix first, then a word start, then any substring; within each, the most recent activity first', () => {
    // Clubbers (prefix, 5) — Cat & Mouse Club (word start, 40) — Nightclub (inside a word, 50).
    expect(ids(matchConversations(items, 'club'))).toEqual(['c-clubbers', 'c-club', 'c-night']);
    const older = { ...clubbers, id: 'c-clubbers-2', lastActivity: 1 };
    const newer = { ...clubbers, id: 'c-clubbers-3', lastActivity: 99 };
    expect(ids(matchConversations([older, clubbers, newer], 'club'))).toEqual(['c-clubbers-3', 'c-clubbers', 'c-clubbers-2']);
  });

  it('an empty query lists them all, in the list’s order; at most the limit', () => {
    expect(ids(matchConversations(items, '  '))).toEqual(ids(items));
    expect(matchConversations(items, '', 2)).toHaveLength(2);
    expect(matchConversations(items, 'c', 1)).toHaveLength(1);
  });

  it('ranks: prefix 0, word start 1, substring 2, none null', () => {
    expect(matchRank('Clubbers', 'club')).toBe(0);
    expect(matchRank('Cat & Mouse Club', 'club')).toBe(1);
    expect(matchRank('Cat-club', 'club')).toBe(1);
    expect(matchRank('Nightclub', 'club')).toBe(2);
    expect(matchRank('Nightclub club', 'club')).toBe(1); // the second occurrence starts a word
    expect(matchRank('Tom', 'club')).toBeNull();
  });

  const names = fc.constantFrom('Tom', 'Jerry', '耗子的群', 'Cat & Mouse Club', 'Ｔｏｍ', 'spike', 'Tyke', 'Ωmega', 'tom_and_jerry');
  const convs = fc.uniqueArray(
    fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), name: names, username: fc.constantFrom('', 'tom', 'jerry', 'spike_2'), lastActivity: fc.nat(1000), group: fc.boolean() }),
    { selector: (r) => r.id, maxLength: 12 },
  );

  it('(property) every result contains the query in a searched field, and every conversation that does is a result', () => {
    fc.assert(
      fc.property(convs, fc.constantFrom('t', 'om', '耗子', 'club', 'JER', 'spike', 'x', 'ｔ'), (raw, query) => {
        const list = raw.map((r) =>
          r.group
            ? conv({ id: r.id, type: 'GROUP_CHAT', title: r.name, displayTitle: r.name, lastActivity: r.lastActivity })
            : conv({ id: r.id, displayTitle: r.name, peer: { uid: `u-${r.id}`, username: r.username, displayName: r.name }, lastActivity: r.lastActivity }),
        );
        const q = foldForSearch(query);
        const found = matchConversations(list, query, 1000);
        const matches = (c: (typeof list)[number]) =>
          [c.displayTitle, c.type === 'GROUP_CHAT' ? c.title : '', c.peer?.displayName ?? '', c.peer?.username ?? ''].some((f) => foldForSearch(f).includes(q));
        expect(new Set(ids(found))).toEqual(new Set(ids(list.filter(matches))));
        // Best first: ranks never go down the list; within a rank, activity never goes up.
        for (let i = 1; i < found.length; i++) {
          const rank = (c: (typeof list)[number]) =>
            Math.min(...[c.displayTitle, c.type === 'GROUP_CHAT' ? c.title : '', c.peer?.displayName ?? '', c.peer?.username ?? ''].map((f) => matchRank(f, q) ?? 9));
          const [a, b] = [found[i - 1], found[i]];
          expect(rank(a) < rank(b) || (rank(a) === rank(b) && a.lastActivity >= b.lastActivity)).toBe(true);
        }
      }),
    );
  });
});

describe('whom to offer "Start a chat with"', () => {
  const spike: UserInfo = { uid: 'u-spike', username: 'spike', displayName: 'Spike' };

  it('a query that could be a username (3–32 of a–z 0–9 _ . -; an @ and case do not matter)', () => {
    expect(usernameQuery('spike')).toBe('spike');
    expect(usernameQuery(' @Spike ')).toBe('spike');
    expect(usernameQuery('tom.cat-2_x')).toBe('tom.cat-2_x');
    expect(usernameQuery('to')).toBeNull();
    expect(usernameQuery('tom cat')).toBeNull();
    expect(usernameQuery('耗子')).toBeNull();
    expect(usernameQuery('x'.repeat(33))).toBeNull();
  });

  it('the person found for the query, unless a loaded 1:1 chat is with them, it is me, or the answer is about another query', () => {
    const found = { username: 'spike', user: spike };
    expect(personToOffer(items, '@spike', found, 'u-tom')).toEqual(spike);
    expect(personToOffer(items, 'spikes', found, 'u-tom')).toBeNull(); // an older answer
    expect(personToOffer(items, 'spike', { username: 'spike', user: null }, 'u-tom')).toBeNull(); // nobody
    expect(personToOffer(items, 'spike', found, 'u-spike')).toBeNull(); // me
    const withSpike = [...items, conv({ id: 'c-spike', displayTitle: 'Spike', peer: spike })];
    expect(personToOffer(withSpike, 'spike', found, 'u-tom')).toBeNull();
    expect(personToOffer(items, 'spike wins', found, 'u-tom')).toBeNull();
  });

  it('a 1:1 chat is "with them" by uid, or by username; a group is not', () => {
    expect(hasChatWith(items, { username: 'jerry' })).toBe(true);
    expect(hasChatWith(items, { uid: 'u-jerry' })).toBe(true);
    expect(hasChatWith(items, { uid: 'u-a' })).toBe(false);
    expect(hasChatWith(items, { username: 'spike' })).toBe(false);
  });
});

describe('the look-up (debounced; only the latest answer counts)', () => {
  afterEach(() => vi.useRealTimers());

  function deferred<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
    return { promise, resolve, reject };
  }

  it('asks once typing pauses, with the last key', async () => {
    vi.useFakeTimers();
    const lookUp = vi.fn(async (k: string) => k.toUpperCase());
    const answers: [string, string][] = [];
    const l = new LatestLookup(lookUp, (k, a) => answers.push([k, a]));
    l.ask('s');
    l.ask('sp');
    l.ask('spi');
    await vi.advanceTimersByTimeAsync(SWITCHER_LOOKUP_DELAY_MS - 1);
    expect(lookUp).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(lookUp).toHaveBeenCalledTimes(1);
    expect(lookUp).toHaveBeenCalledWith('spi');
    expect(answers).toEqual([['spi', 'SPI']]);
  });

  it('an answer that comes after a newer question (or a cancel) is dropped, errors too', async () => {
    vi.useFakeTimers();
    const pending = new Map<string, ReturnType<typeof deferred<string>>>();
    const lookUp = (k: string) => {
      const d = deferred<string>();
      pending.set(k, d);
      return d.promise;
    };
    const answers: string[] = [];
    const errors: string[] = [];
    const l = new LatestLookup(lookUp, (k) => answers.push(k), (k) => errors.push(k));
    l.ask('tyke');
    await vi.advanceTimersByTimeAsync(SWITCHER_LOOKUP_DELAY_MS);
    l.ask('tykes');
    await vi.advanceTimersByTimeAsync(SWITCHER_LOOKUP_DELAY_MS);
    pending.get('tykes')!.resolve('new');
    pending.get('tyke')!.resolve('old'); // the older question answers last
    await vi.advanceTimersByTimeAsync(0);
    expect(answers).toEqual(['tykes']);

    l.ask('spike');
    await vi.advanceTimersByTimeAsync(SWITCHER_LOOKUP_DELAY_MS);
    l.cancel();
    pending.get('spike')!.reject(new Error('offline'));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual([]);
    expect(answers).toEqual(['tykes']);

    l.ask('jerry');
    await vi.advanceTimersByTimeAsync(SWITCHER_LOOKUP_DELAY_MS);
    pending.get('jerry')!.reject(new Error('offline'));
    await vi.advanceTimersByTimeAsync(0);
    expect(errors).toEqual(['jerry']);
  });
});

describe('starting a chat by username (the new chat dialog and the quick switcher)', () => {
  const t = createTranslator('en');
  const people: Record<string, UserInfo> = { spike: { uid: 'u-spike', username: 'spike', displayName: 'Spike' }, tom: { uid: 'u-tom', username: 'tom', displayName: 'Tom' } };
  const find = async (a: { username: string }) => people[a.username] ?? null;

  it('looks the typed username up (a leading @ ignored), or says why there is nobody to chat with', async () => {
    expect(typedUsername('  @spike ')).toBe('spike');
    expect(await lookUpPerson('@spike', 'u-tom', find, t)).toEqual({ user: people.spike });
    expect(await lookUpPerson('  ', 'u-tom', find, t)).toEqual({ problem: 'Enter a username.' });
    expect(await lookUpPerson('nobody', 'u-tom', find, t)).toEqual({ problem: 'No user named “nobody”.' });
    expect(await lookUpPerson('tom', 'u-tom', find, t)).toEqual({ problem: 'That is you.' });
  });

  it('a refusal because of a block names the person; anything else is worded from its code', () => {
    expect(startChatErrorText({ code: 'blocked', message: 'x' }, people.spike, t, 'en')).toBe(blockedChatText(people.spike, t));
    expect(blockedChatText(people.spike, t)).toBe('You cannot start a chat with @spike: one of you has blocked the other.');
    expect(startChatErrorText({ code: 'offline', message: 'not connected' }, people.spike, t, 'en')).not.toContain('@spike');
  });
});
