// The mock backend's `search_messages` against the backend's meaning: the query split at
// whitespace into terms (lower-cased, each once); a message is a hit when every term is a
// substring of its lower-cased text, anywhere; newest first; `limit` (default 100) clamped to
// 1..=500; acked messages only; not signed in → not_signed_in.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppError, SearchHit, UiMessage } from '../api';
import { createMockBackend } from '../mock';

function mock(history = 30) {
  let clock = 1_700_000_000_000;
  return createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history,
    deliver: () => {},
    now: () => (clock += 1000),
  });
}

async function signedIn(history = 30) {
  const m = mock(history);
  await m.invoke('restore_session');
  return m;
}

const search = (m: ReturnType<typeof mock>, query: string, limit?: number) =>
  m.invoke<SearchHit[]>('search_messages', limit === undefined ? { query } : { query, limit });
const texts = (hits: SearchHit[]) => hits.map((h) => h.message.text);

/** The meaning, written again from the words of the contract (queries here have ASCII spaces only). */
function reference(messages: UiMessage[], query: string): UiMessage[] {
  const terms = [...new Set(query.toLowerCase().split(/[ \t\n]+/).filter((t) => t))];
  if (terms.length === 0) return [];
  return messages.filter((m) => m.seq !== null && terms.every((t) => m.text.toLowerCase().includes(t)));
}

describe('the mock’s search_messages', () => {
  it('finds the examples: inside words, inside Chinese without spaces, every term in any order and case', async () => {
    const m = await signedIn();
    m.control.incoming('c-group', 'u-jerry', '耗子，起床啦');
    m.control.incoming('c-group', 'u-spike', '起来吃饭了 jerry');
    expect(texts(await search(m, '起床'))).toEqual(['耗子，起床啦']);
    expect(texts(await search(m, '床'))).toEqual(['耗子，起床啦']);
    expect(texts(await search(m, 'JERRY 吃饭'))).toEqual(['起来吃饭了 jerry']);
    expect(texts(await search(m, '吃饭   jerry jerry'))).toEqual(['起来吃饭了 jerry']);
    expect(texts(await search(m, '起床 jerry'))).toEqual([]);
    expect(texts(await search(m, 'eese'))).toContain('Where is the cheese? (#2)');
  });

  it('an empty or blank query finds nothing', async () => {
    const m = await signedIn();
    expect(await search(m, '')).toEqual([]);
    expect(await search(m, ' \t\n\u3000 ')).toEqual([]);
  });

  it('newest first, each with its conversation’s title (a 1:1 chat: the other person’s name)', async () => {
    const m = await signedIn();
    const hits = await search(m, 'i will');
    expect(hits.length).toBeGreaterThan(2);
    for (let i = 1; i < hits.length; i++) expect(hits[i - 1].message.timestamp).toBeGreaterThanOrEqual(hits[i].message.timestamp);
    const titles = new Map(hits.map((h) => [h.message.conversationId, h.conversationTitle]));
    expect(titles.get('c-jerry')).toBe('Jerry');
    expect(titles.get('c-group')).toBe('Cat & Mouse Club');
    expect(hits.every((h) => typeof h.message.seq === 'number')).toBe(true);
  });

  it('at most `limit` (default 100, clamped to 1..=500): the newest', async () => {
    const m = await signedIn(700);
    const all = await search(m, '#', 500);
    expect(all).toHaveLength(500);
    expect(await search(m, '#')).toEqual(all.slice(0, 100));
    expect(await search(m, '#', 20)).toEqual(all.slice(0, 20));
    expect(await search(m, '#', 0)).toEqual(all.slice(0, 1));
    expect(await search(m, '#', 100_000)).toEqual(all);
  });

  it('only acked messages (the cache’s): one still being sent is not found', async () => {
    const m = await signedIn();
    await m.invoke('send_text', { conversationId: 'c-spike', text: 'pending brie' });
    expect(await search(m, 'brie')).toEqual([]);
    const [pending] = m.control.pending();
    m.control.ack('c-spike', pending.clientId);
    expect(texts(await search(m, 'BRIE'))).toEqual(['pending brie']);
  });

  it('signed out: not_signed_in', async () => {
    const m = mock();
    await expect(search(m, 'cheese')).rejects.toMatchObject({ code: 'not_signed_in' } satisfies Partial<AppError>);
  });

  it('agrees with the meaning for any query made of the texts’ pieces', async () => {
    const m = await signedIn(40);
    m.control.incoming('c-group', 'u-jerry', '耗子，起床啦 Wake UP, Jerry 🧀');
    const messages = m.control.items().flatMap((c) => m.control.messages(c.id));
    const piece = fc.constantFrom('i', 'WILL', 'cheese', '起床', '床', '你好', '🧀', 'jerry', '#1', '(#3', '?', 'zz', 'Up,', 'tom');
    const query = fc.array(fc.tuple(piece, fc.constantFrom(' ', '  ', '\t', '')), { maxLength: 4 }).map((parts) => parts.map(([p, sep]) => p + sep).join(''));
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const hits = await search(m, q, 500);
        const want = reference(messages, q).sort((a, b) => b.timestamp - a.timestamp);
        expect(hits.map((h) => h.message.clientId).sort()).toEqual(want.map((x) => x.clientId).sort());
        expect(hits.map((h) => h.message.timestamp)).toEqual(want.map((x) => x.timestamp));
      }),
    );
  });
});
