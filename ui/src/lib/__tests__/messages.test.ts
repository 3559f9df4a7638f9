import { describe, expect, it } from 'vitest';
import {
  applyUpdate,
  compareMessages,
  compareRevisions,
  maxSeq,
  mergeMessages,
  mergeNewestPage,
  minSeq,
  pageLeavesGap,
  pickVersion,
  removeMessage,
  upsertMessage,
} from '../messages';
import { msg } from './fixtures';

const texts = (list: { text: string }[]) => list.map((m) => m.text);

describe('upsertMessage', () => {
  it('merges the ack into the sending message with the same clientId', () => {
    const a = msg({ seq: 1, text: 'a' });
    const sending = msg({ clientId: 'mine', id: null, seq: null, own: true, status: 'sending', text: 'hello' });
    let list = upsertMessage([a], sending);
    expect(list).toHaveLength(2);
    expect(list[1].status).toBe('sending');

    const acked = { ...sending, id: 'srv-9', seq: 2, status: 'sent' as const };
    list = upsertMessage(list, acked);
    expect(list).toHaveLength(2);
    expect(list[1]).toMatchObject({ clientId: 'mine', seq: 2, id: 'srv-9', status: 'sent' });
  });

  it('appends a new message at the end', () => {
    const a = msg({ seq: 1 });
    const b = msg({ seq: 2 });
    expect(upsertMessage([a], b)).toEqual([a, b]);
  });

  it('inserts an out-of-order message in seq order', () => {
    const a = msg({ seq: 1, text: 'a' });
    const c = msg({ seq: 3, text: 'c' });
    const b = msg({ seq: 2, text: 'b' });
    expect(texts(upsertMessage([a, c], b))).toEqual(['a', 'b', 'c']);
  });

  it('keeps unacked own messages after acked ones, even if a later message is acked', () => {
    const sending = msg({ clientId: 'mine', id: null, seq: null, own: true, status: 'sending', text: 'mine', timestamp: 1000 });
    const incoming = msg({ seq: 5, text: 'theirs', timestamp: 2000 });
    const list = upsertMessage([sending], incoming);
    expect(texts(list)).toEqual(['theirs', 'mine']);
  });

  it('does not let a stale copy without seq undo an ack', () => {
    const acked = msg({ clientId: 'mine', seq: 4, status: 'sent', own: true });
    const stale = { ...acked, seq: null, id: null, status: 'sending' as const };
    const list = [acked];
    expect(upsertMessage(list, stale)).toBe(list);
  });

  it('a failed message becomes sending again on retry', () => {
    const failed = msg({ clientId: 'mine', seq: null, id: null, own: true, status: 'failed', error: { code: 'internal', message: 'x' } });
    const list = upsertMessage([failed], { ...failed, status: 'sending', error: null });
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ status: 'sending', error: null });
  });

  it('re-sorts when an ack moves a message', () => {
    const s1 = msg({ clientId: 's1', seq: null, id: null, own: true, status: 'sending', timestamp: 10, text: 's1' });
    const s2 = msg({ clientId: 's2', seq: null, id: null, own: true, status: 'sending', timestamp: 20, text: 's2' });
    const a = msg({ seq: 1, text: 'a' });
    let list = mergeMessages([], [a, s1, s2]);
    expect(texts(list)).toEqual(['a', 's1', 's2']);
    // s2 is acked first: it moves before the still-sending s1.
    list = upsertMessage(list, { ...s2, seq: 2, id: 'x2', status: 'sent' });
    expect(texts(list)).toEqual(['a', 's2', 's1']);
  });
});

describe('mergeMessages', () => {
  it('de-duplicates a message that arrives from a page and from an event', () => {
    const a = msg({ seq: 1 });
    const b = msg({ seq: 2 });
    const c = msg({ seq: 3 });
    const fromEvent = [c];
    const page = [a, b, { ...c }];
    const merged = mergeMessages(fromEvent, page);
    expect(merged.map((m) => m.seq)).toEqual([1, 2, 3]);
  });

  it('de-duplicates by server id when the clientId differs', () => {
    const a = msg({ seq: 1, id: 'same' });
    const copy = { ...a, clientId: 'other' };
    expect(mergeMessages([a], [copy])).toHaveLength(1);
  });

  it('orders acked by seq, then unacked by timestamp', () => {
    const list = mergeMessages(
      [],
      [
        msg({ seq: null, id: null, clientId: 'late', timestamp: 300, text: 'late' }),
        msg({ seq: 7, text: 'seven' }),
        msg({ seq: null, id: null, clientId: 'early', timestamp: 100, text: 'early' }),
        msg({ seq: 3, text: 'three' }),
      ],
    );
    expect(texts(list)).toEqual(['three', 'seven', 'early', 'late']);
  });

  it('prepends an older page', () => {
    const newest = [msg({ seq: 51 }), msg({ seq: 52 })];
    const older = [msg({ seq: 49 }), msg({ seq: 50 })];
    expect(mergeMessages(newest, older).map((m) => m.seq)).toEqual([49, 50, 51, 52]);
  });

  it('does not change its inputs', () => {
    const a = [msg({ seq: 2 })];
    const b = [msg({ seq: 1 })];
    mergeMessages(a, b);
    expect(a[0].seq).toBe(2);
    expect(b[0].seq).toBe(1);
  });
});

describe('seq helpers', () => {
  it('min and max seq ignore unacked messages', () => {
    const list = mergeMessages([], [msg({ seq: 4 }), msg({ seq: 9 }), msg({ seq: null, id: null })]);
    expect(minSeq(list)).toBe(4);
    expect(maxSeq(list)).toBe(9);
    expect(minSeq([])).toBeNull();
    expect(maxSeq([msg({ seq: null, id: null })])).toBeNull();
  });

  it('detects a gap between what we hold and a new newest page', () => {
    const held = [msg({ seq: 10 }), msg({ seq: 11 })];
    expect(pageLeavesGap(held, [msg({ seq: 12 }), msg({ seq: 13 })], true)).toBe(false);
    expect(pageLeavesGap(held, [msg({ seq: 40 }), msg({ seq: 41 })], true)).toBe(true);
    expect(pageLeavesGap(held, [msg({ seq: 40 })], false)).toBe(false);
  });

  it('also sees a hole inside what we hold (older history, then only live messages)', () => {
    // Held 10-11 and a live 60; the page (51-60) does not reach back to 11.
    const held = [msg({ seq: 10 }), msg({ seq: 11 }), msg({ seq: 60 })];
    expect(pageLeavesGap(held, [msg({ seq: 51 }), msg({ seq: 60 })], true)).toBe(true);
    expect(pageLeavesGap(held, [msg({ seq: 12 }), msg({ seq: 60 })], true)).toBe(false);
  });
});

describe('mergeNewestPage (opening again, resync)', () => {
  const seqs = (l: { seq: number | null }[]) => l.map((m) => m.seq);

  it('merges an overlapping page by clientId, keeping older history and hasMore', () => {
    const held = [msg({ seq: 1 }), msg({ seq: 2 }), msg({ seq: 3 })];
    const sending = msg({ clientId: 'mine', id: null, seq: null, own: true, status: 'sending' });
    const page = [held[2], { ...sending, seq: 4, id: 's4', status: 'sent' as const }, msg({ seq: 5 })];
    const out = mergeNewestPage([...held, sending], false, { messages: page, hasMore: true });
    expect(seqs(out.messages)).toEqual([1, 2, 3, 4, 5]);
    expect(out.messages.filter((m) => m.clientId === 'mine')).toHaveLength(1);
    expect(out.hasMore).toBe(false);
  });

  it('drops held messages older than a page that leaves a hole, keeps unacked ones', () => {
    const sending = msg({ seq: null, id: null, own: true, status: 'failed' });
    const held = [msg({ seq: 10 }), msg({ seq: 11 }), msg({ seq: 60 }), sending];
    const page = [msg({ seq: 51 }), held[2]];
    const out = mergeNewestPage(held, false, { messages: page, hasMore: true });
    expect(seqs(out.messages)).toEqual([51, 60, null]);
    expect(out.hasMore).toBe(true);
  });

  it('takes hasMore from the page when nothing older is held', () => {
    const out = mergeNewestPage([], false, { messages: [msg({ seq: 51 }), msg({ seq: 52 })], hasMore: true });
    expect(out.hasMore).toBe(true);
    expect(mergeNewestPage([msg({ seq: 3 })], true, { messages: [], hasMore: false }).hasMore).toBe(true);
  });

  it('compareMessages is a total order', () => {
    const a = msg({ seq: 1 });
    expect(compareMessages(a, a)).toBe(0);
  });
});

describe('edits and recalls: the later revision wins, in whatever order the copies come', () => {
  const original = msg({ seq: 5, text: 'hello' });
  const edited = { ...original, text: 'hello!', editedAt: 1000 };
  const editedAgain = { ...original, text: 'hello!!', editedAt: 2000 };
  const recalled = { ...edited, text: '', recalled: true, recalledByName: 'Jerry' };

  it('orders revisions: acked over not acked, recalled over anything, then the later edit', () => {
    expect(compareRevisions(edited, original)).toBeGreaterThan(0);
    expect(compareRevisions(editedAgain, edited)).toBeGreaterThan(0);
    expect(compareRevisions(recalled, editedAgain)).toBeGreaterThan(0);
    expect(compareRevisions(original, { ...original, status: 'sent' })).toBe(0);
    expect(compareRevisions({ ...original, seq: null }, original)).toBeLessThan(0);
  });

  it('pickVersion never undoes an edit or a recall, and takes the newcomer on a tie (a status change)', () => {
    expect(pickVersion(editedAgain, edited)).toBe(editedAgain);
    expect(pickVersion(recalled, original)).toBe(recalled);
    expect(pickVersion(original, edited)).toBe(edited);
    const copy = { ...edited };
    expect(pickVersion(edited, copy)).toBe(copy);
  });

  it('a page fetched before an edit (merged after it) does not bring the old text back', () => {
    const list = [msg({ seq: 4 }), editedAgain];
    expect(mergeMessages(list, [original, edited]).map((m) => m.text)).toEqual([list[0].text, 'hello!!']);
    expect(upsertMessage([recalled], original)).toEqual([recalled]);
  });

  it('applyUpdate replaces the message with the same seq (its row keeps its clientId), adds nothing', () => {
    const held = [msg({ seq: 4 }), original, msg({ seq: 6 })];
    const update = { ...edited, clientId: 'from-the-server' };
    const out = applyUpdate(held, update);
    expect(out.map((m) => m.text)).toEqual([held[0].text, 'hello!', held[2].text]);
    expect(out[1].clientId).toBe(original.clientId);
    // Not held (a page not loaded, deleted here): nothing is added.
    const elsewhere = msg({ seq: 99, editedAt: 5 });
    expect(applyUpdate(held, elsewhere)).toBe(held);
    // Older than what is held: nothing changes.
    expect(applyUpdate([recalled], edited)).toEqual([recalled]);
    // An update that finds the own message still "sending" here (the ack came only in a page): it is the acked copy.
    const sending = msg({ clientId: 'mine', seq: null, id: null, own: true, status: 'sending', text: 'x' });
    const ackedAndEdited = { ...sending, seq: 7, id: 's7', status: 'sent' as const, text: 'y', editedAt: 3 };
    expect(applyUpdate([sending], ackedAndEdited)).toEqual([ackedAndEdited]);
  });

  it('removeMessage takes one message out by clientId (the same list when it is not there)', () => {
    const a = msg({ seq: 1 });
    const b = msg({ seq: 2 });
    expect(removeMessage([a, b], a.clientId)).toEqual([b]);
    const list = [a, b];
    expect(removeMessage(list, 'nope')).toBe(list);
  });
});

describe('messages deleted on this device leave no hole', () => {
  it('a page right after the seqs deleted here joins up with what is held', () => {
    const held = [msg({ seq: 8 }), msg({ seq: 9 })];
    const page = [msg({ seq: 12 }), msg({ seq: 13 })];
    expect(pageLeavesGap(held, page, true)).toBe(true);
    expect(pageLeavesGap(held, page, true, new Set([10, 11]))).toBe(false);
    expect(pageLeavesGap(held, page, true, new Set([11]))).toBe(true);
    const out = mergeNewestPage(held, false, { messages: page, hasMore: true }, new Set([10, 11]));
    expect(out.messages.map((m) => m.seq)).toEqual([8, 9, 12, 13]);
    expect(out.hasMore).toBe(false);
  });
});
