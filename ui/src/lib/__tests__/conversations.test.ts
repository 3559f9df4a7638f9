import { describe, expect, it } from 'vitest';
import {
  applyMessageToList,
  avatarSeed,
  applyReceipt,
  applyUpdateToList,
  hasUnreadMention,
  initials,
  isReadByPeer,
  mergeFirstPage,
  mergePage,
  oneLine,
  previewText,
  recallText,
  removeConversation,
  replaceDeletedLast,
  sortConversations,
  titleOf,
  upsertConversation,
  upsertLoaded,
  withReadMark,
  type ConversationJournal,
} from '../conversations';
import { createTranslator } from '../i18n';
import { conv, msg } from './fixtures';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');

describe('conversation list order', () => {
  it('sorts by most recent activity first', () => {
    const list = sortConversations([
      conv({ id: 'a', lastActivity: 100 }),
      conv({ id: 'b', lastActivity: 300 }),
      conv({ id: 'c', lastActivity: 200 }),
    ]);
    expect(list.map((c) => c.id)).toEqual(['b', 'c', 'a']);
  });

  it('moves an updated conversation to the top and replaces it by id', () => {
    let list = sortConversations([conv({ id: 'a', lastActivity: 100 }), conv({ id: 'b', lastActivity: 300 })]);
    list = upsertConversation(list, conv({ id: 'a', lastActivity: 400, unreadCount: 2 }));
    expect(list.map((c) => c.id)).toEqual(['a', 'b']);
    expect(list[0].unreadCount).toBe(2);
    expect(list).toHaveLength(2);
  });

  it('adds a new conversation and removes one', () => {
    let list = upsertConversation([conv({ id: 'a', lastActivity: 1 })], conv({ id: 'n', lastActivity: 5 }));
    expect(list.map((c) => c.id)).toEqual(['n', 'a']);
    list = removeConversation(list, 'n');
    expect(list.map((c) => c.id)).toEqual(['a']);
  });

  it('a new message updates the preview and order at once', () => {
    const list = sortConversations([conv({ id: 'a', lastActivity: 100 }), conv({ id: 'b', lastActivity: 300 })]);
    const m = msg({ conversationId: 'a', seq: 8, timestamp: 500, text: 'new' });
    const next = applyMessageToList(list, m);
    expect(next.map((c) => c.id)).toEqual(['a', 'b']);
    expect(next[0]).toMatchObject({ lastActivity: 500, lastSeq: 8 });
    expect(next[0].lastMessage?.text).toBe('new');
  });

  it('an older message does not replace the last message', () => {
    const last = msg({ conversationId: 'a', seq: 10, timestamp: 1000 });
    const list = [conv({ id: 'a', lastMessage: last, lastActivity: 1000, lastSeq: 10, peerReadSeq: 10 })];
    expect(applyMessageToList(list, msg({ conversationId: 'a', seq: 3, timestamp: 10 }))).toBe(list);
  });

  it('an update of the last message (ack) replaces it', () => {
    const sending = msg({ conversationId: 'a', clientId: 'x', seq: null, id: null, own: true, status: 'sending' });
    const list = [conv({ id: 'a', lastMessage: sending, lastActivity: sending.timestamp })];
    const next = applyMessageToList(list, { ...sending, seq: 4, status: 'sent' });
    expect(next[0].lastMessage?.status).toBe('sent');
  });

  it('ignores messages of unknown conversations', () => {
    const list = [conv({ id: 'a' })];
    expect(applyMessageToList(list, msg({ conversationId: 'zzz' }))).toBe(list);
  });
});

describe('preview and title', () => {
  it('prefixes own messages and group senders, and flattens lines', () => {
    expect(previewText(conv({ lastMessage: msg({ own: true, text: 'hi\nthere' }) }), en)).toBe('You: hi there');
    expect(previewText(conv({ type: 'GROUP_CHAT', lastMessage: msg({ fromName: 'Jerry', text: 'yo' }) }), en)).toBe(
      'Jerry: yo',
    );
    expect(previewText(conv({ lastMessage: msg({ text: 'yo' }) }), en)).toBe('yo');
    expect(previewText(conv(), en)).toBe('No messages yet');
  });

  it('names a message this version cannot show instead of an empty line, in both languages', () => {
    const unknown = msg({ text: '', unsupported: true });
    expect(previewText(conv({ lastMessage: unknown }), en)).toBe(
      'A message this version of Gtedx IM cannot show: update the app to see it',
    );
    expect(previewText(conv({ lastMessage: unknown }), zh)).toBe('当前版本的 Gtedx IM 无法显示此消息，请更新应用后查看');
  });

  it('uses the display title, then the title', () => {
    expect(titleOf(conv({ displayTitle: 'Jerry', title: '' }))).toBe('Jerry');
    expect(titleOf(conv({ type: 'GROUP_CHAT', displayTitle: '', title: 'Club' }))).toBe('Club');
  });

  it("names a 1:1 chat after the other person, never after the chat's stored title", () => {
    const peer = { uid: 'u-x', username: 'mallory', displayName: 'Mallory' };
    expect(titleOf(conv({ title: 'Bank support', displayTitle: 'Mallory', peer }))).toBe('Mallory');
    expect(titleOf(conv({ title: 'Bank support', displayTitle: '', peer }))).toBe('Mallory');
    expect(titleOf(conv({ title: 'Bank support', displayTitle: '', peer: { ...peer, displayName: '' } }))).toBe('mallory');
    expect(titleOf(conv({ title: 'Bank support', displayTitle: '', peer: null }))).toBe('…');
  });

  it('makes initials', () => {
    expect(initials('Tom Cat')).toBe('TC');
    expect(initials('jerry')).toBe('J');
    expect(initials('张三')).toBe('张');
    expect(initials('  ')).toBe('?');
    expect(oneLine('  a \n\n b  ')).toBe('a b');
  });
});

describe('avatar colours', () => {
  it("a 1:1 chat's colour is the other person's (their uid); a group's is its own", () => {
    const jerry = { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' };
    expect(avatarSeed(conv({ id: 'c1', peer: jerry }))).toBe('u-jerry');
    expect(avatarSeed(conv({ id: 'c2', peer: jerry }))).toBe('u-jerry'); // the same person, another chat
    expect(avatarSeed(conv({ id: 'g1', type: 'GROUP_CHAT' }))).toBe('g1');
    expect(avatarSeed(conv({ id: 'c3', peer: null }))).toBe('c3'); // the other person not known (yet)
  });
});

describe('read marks and ticks', () => {
  const mine = (seq: number | null, p = {}) =>
    msg({ seq, own: true, from: 'u-tom', status: seq === null ? 'sending' : 'sent', ...p });

  it('an own message shows "read" in a 1:1 chat once seq <= peerReadSeq', () => {
    const c = conv({ type: 'SINGLE_CHAT', peerReadSeq: 5 });
    expect(isReadByPeer(c, mine(4))).toBe(true);
    expect(isReadByPeer(c, mine(5))).toBe(true);
    expect(isReadByPeer(c, mine(6))).toBe(false);
    expect(isReadByPeer(c, mine(null))).toBe(false); // still sending
    expect(isReadByPeer(c, mine(null, { status: 'failed' }))).toBe(false);
    expect(isReadByPeer(c, msg({ seq: 1 }))).toBe(false); // not mine
  });

  it('groups keep the single "sent" tick', () => {
    expect(isReadByPeer(conv({ type: 'GROUP_CHAT', peerReadSeq: 50 }), mine(4))).toBe(false);
  });

  it('a receipt from another member raises peerReadSeq, never lowers it', () => {
    const list = [conv({ id: 'a', peerReadSeq: 3 }), conv({ id: 'b', peerReadSeq: 0 })];
    const next = applyReceipt(list, { conversationId: 'a', uid: 'u-jerry', readSeq: 8 }, 'u-tom');
    expect(next.map((c) => c.peerReadSeq)).toEqual([8, 0]);
    expect(list[0].peerReadSeq).toBe(3); // input untouched
    expect(applyReceipt(next, { conversationId: 'a', uid: 'u-jerry', readSeq: 5 }, 'u-tom')).toBe(next);
    expect(applyReceipt(next, { conversationId: 'a', uid: 'u-tom', readSeq: 99 }, 'u-tom')).toBe(next);
    expect(applyReceipt(next, { conversationId: 'zz', uid: 'u-jerry', readSeq: 99 }, 'u-tom')).toBe(next);
  });

  it('a conversation item replacing ours keeps the higher peerReadSeq', () => {
    const list = [conv({ id: 'a', peerReadSeq: 9, lastActivity: 1 })];
    expect(upsertConversation(list, conv({ id: 'a', peerReadSeq: 4, lastActivity: 2, unreadCount: 1 }))[0]).toMatchObject({
      peerReadSeq: 9,
      unreadCount: 1,
    });
    expect(upsertConversation(list, conv({ id: 'a', peerReadSeq: 12, lastActivity: 2 }))[0].peerReadSeq).toBe(12);
  });

  it('a read mark sent here lowers the unread count to what lies above it, never raises it', () => {
    const c = conv({ readSeq: 4, lastSeq: 9, unreadCount: 5 });
    expect(withReadMark(c, 9)).toMatchObject({ readSeq: 9, unreadCount: 0 });
    expect(withReadMark(c, 12)).toMatchObject({ readSeq: 12, unreadCount: 0 }); // a copy from before the message
    expect(withReadMark(c, 7)).toMatchObject({ readSeq: 7, unreadCount: 2 });
    expect(withReadMark(conv({ readSeq: 4, lastSeq: 9, unreadCount: 1 }), 7).unreadCount).toBe(1); // own messages
    expect(withReadMark(c, 4)).toBe(c);
    expect(withReadMark(c, 2)).toBe(c);
  });

  it('so are the unread mentions ("[@me]"): gone once read to the end, never more than the unread messages', () => {
    const c = conv({ readSeq: 4, lastSeq: 9, unreadCount: 5, unreadMentions: 3 });
    expect(hasUnreadMention(c)).toBe(true);
    expect(withReadMark(c, 9)).toMatchObject({ unreadCount: 0, unreadMentions: 0 });
    expect(hasUnreadMention(withReadMark(c, 9))).toBe(false);
    expect(withReadMark(c, 8)).toMatchObject({ unreadCount: 1, unreadMentions: 1 });
    expect(withReadMark(c, 5)).toMatchObject({ unreadCount: 4, unreadMentions: 3 });
    expect(hasUnreadMention(conv({ unreadMentions: 0, unreadCount: 4 }))).toBe(false);
  });

  it("a member's own message counts as read up to it", () => {
    const list = [conv({ id: 'a', peerReadSeq: 2 })];
    expect(applyMessageToList(list, msg({ conversationId: 'a', seq: 7 }))[0].peerReadSeq).toBe(7);
    expect(applyMessageToList(list, mine(7, { conversationId: 'a' }))[0].peerReadSeq).toBe(2);
  });

  it('a short first page (the whole list) decides which conversations exist; fresher copies and read marks win', () => {
    const held = [
      conv({ id: 'a', lastActivity: 50, peerReadSeq: 6, unreadCount: 1 }),
      conv({ id: 'gone', lastActivity: 40 }),
      conv({ id: 'b', lastActivity: 10, peerReadSeq: 1 }),
    ];
    const fetched = [
      conv({ id: 'a', lastActivity: 30, peerReadSeq: 2 }), // older than the event we hold
      conv({ id: 'b', lastActivity: 20, peerReadSeq: 4 }),
      conv({ id: 'new', lastActivity: 60 }),
    ];
    const { items: merged, complete } = mergeFirstPage(held, fetched, 50);
    expect(complete).toBe(true);
    expect(merged.map((c) => c.id)).toEqual(['new', 'a', 'b']);
    expect(merged[1]).toMatchObject({ lastActivity: 50, unreadCount: 1, peerReadSeq: 6 });
    expect(merged[2]).toMatchObject({ lastActivity: 20, peerReadSeq: 4 });
  });
});

describe('paging', () => {
  // Activity 100 - i: c0 is the most recent.
  const server = Array.from({ length: 10 }, (_, i) => conv({ id: `c${i}`, lastActivity: 100 - i }));
  const ids = (list: readonly { id: string }[]) => list.map((c) => c.id);

  it('the first page, then the next one appended; a short page completes the list', () => {
    let r = mergeFirstPage([], server.slice(0, 4), 4);
    expect(ids(r.items)).toEqual(['c0', 'c1', 'c2', 'c3']);
    expect(r.complete).toBe(false);
    r = mergePage(r.items, server.slice(4, 8), 4);
    expect(ids(r.items)).toEqual(ids(server.slice(0, 8)));
    expect(r.complete).toBe(false);
    r = mergePage(r.items, server.slice(8, 12), 4);
    expect(ids(r.items)).toEqual(ids(server));
    expect(r.complete).toBe(true);
  });

  it('a page overlapping what is held (the list moved) adds no duplicates; the fresher copy wins', () => {
    const held = [conv({ id: 'top', lastActivity: 200, unreadCount: 3 }), ...server.slice(0, 3)];
    const page = [conv({ id: 'top', lastActivity: 150 }), conv({ id: 'c2', lastActivity: 98, peerReadSeq: 4 }), ...server.slice(3, 5)];
    const r = mergePage(held, page, 4);
    expect(ids(r.items)).toEqual(['top', 'c0', 'c1', 'c2', 'c3', 'c4']);
    expect(r.items[0]).toMatchObject({ lastActivity: 200, unreadCount: 3 });
    expect(r.items[3].peerReadSeq).toBe(4);
  });

  it('an event for a conversation beyond the loaded pages is left to its page unless it sorts above the last one held', () => {
    const held = server.slice(0, 4); // c0..c3, activity 100..97
    // Below the last held item: comes with its page.
    expect(upsertLoaded(held, conv({ id: 'c7', lastActivity: 93, unreadCount: 1 }), false)).toBe(held);
    // Moved up (new activity): inserted at its place.
    expect(ids(upsertLoaded(held, conv({ id: 'c7', lastActivity: 99 }), false))).toEqual(['c0', 'c1', 'c7', 'c2', 'c3']);
    expect(ids(upsertLoaded(held, conv({ id: 'c9', lastActivity: 500 }), false))).toEqual(['c9', 'c0', 'c1', 'c2', 'c3']);
    // A complete list takes everything.
    expect(ids(upsertLoaded(held, conv({ id: 'c7', lastActivity: 1 }), true))).toEqual(['c0', 'c1', 'c2', 'c3', 'c7']);
    // A held item is updated in place or moved up; it stays even as the last one.
    expect(upsertLoaded(held, conv({ id: 'c3', lastActivity: 97, unreadCount: 2 }), false)[3]).toMatchObject({ id: 'c3', unreadCount: 2 });
    expect(ids(upsertLoaded(held, conv({ id: 'c3', lastActivity: 300 }), false))).toEqual(['c3', 'c0', 'c1', 'c2']);
    // One whose activity went back below the loaded range leaves it (it comes back with its page).
    expect(ids(upsertLoaded(held, conv({ id: 'c1', lastActivity: 10 }), false))).toEqual(['c0', 'c2', 'c3']);
    // An empty list (before the first page) takes it: the first page decides.
    expect(ids(upsertLoaded([], conv({ id: 'x', lastActivity: 1 }), false))).toEqual(['x']);
  });

  it('a first page again (resync) merges by id: keeps later pages, drops what vanished in its range', () => {
    const held = server.slice(0, 8); // two pages of 4 loaded
    // Meanwhile: c1 was removed, c6 got a new message (now on top), n1 is new.
    const page = [conv({ id: 'c6', lastActivity: 300 }), conv({ id: 'n1', lastActivity: 200 }), server[0], server[2]];
    const r = mergeFirstPage(held, page, 4);
    expect(r.complete).toBe(false);
    // c3, c4, c5, c7 sort below the page's last item (c2): loaded before, still valid, kept.
    expect(ids(r.items)).toEqual(['c6', 'n1', 'c0', 'c2', 'c3', 'c4', 'c5', 'c7']);
    expect(new Set(ids(r.items)).size).toBe(r.items.length);
    // A short page is the whole list.
    const all = mergeFirstPage(held, page.slice(0, 3), 4);
    expect(all.complete).toBe(true);
    expect(ids(all.items)).toEqual(['c6', 'n1', 'c0']);
  });

  it('events that arrived while a page was fetched win over the page', () => {
    const journal: ConversationJournal = new Map([
      ['c1', null], // removed after the server answered
      ['c2', conv({ id: 'c2', lastActivity: 98, unreadCount: 5 })], // marked unread meanwhile
      ['new', conv({ id: 'new', lastActivity: 400 })], // created meanwhile
      ['c0', conv({ id: 'c0', lastActivity: 50 })], // older than the page's copy: ignored
    ]);
    const r = mergeFirstPage([], server.slice(0, 4), 4, journal);
    expect(ids(r.items)).toEqual(['new', 'c0', 'c2', 'c3']);
    expect(r.items[1].lastActivity).toBe(100);
    expect(r.items[2].unreadCount).toBe(5);
    const next = mergePage(r.items, server.slice(4, 8), 4, new Map([['c5', null]]));
    expect(ids(next.items)).toEqual(['new', 'c0', 'c2', 'c3', 'c4', 'c6', 'c7']);
  });
});

describe('bad timestamps from the backend', () => {
  it('a conversation without a usable lastActivity sorts as the oldest, and the order stays total', () => {
    const list = sortConversations([
      conv({ id: 'b', lastActivity: NaN }),
      conv({ id: 'x', lastActivity: 5 }),
      conv({ id: 'a', lastActivity: undefined as unknown as number }),
      conv({ id: 'y', lastActivity: 9 }),
    ]);
    expect(list.map((c) => c.id)).toEqual(['y', 'x', 'a', 'b']);
  });

  it('a message without a usable time does not turn lastActivity into NaN', () => {
    const list = [conv({ id: 'a', lastActivity: 100 }), conv({ id: 'b', lastActivity: 50 })];
    const next = applyMessageToList(list, msg({ conversationId: 'b', seq: 9, timestamp: NaN }));
    expect(next.find((c) => c.id === 'b')).toMatchObject({ lastActivity: 50, lastSeq: 9 });
    expect(next.map((c) => c.id)).toEqual(['a', 'b']);
  });
});

describe('recalled and edited last messages', () => {
  const recalled = (p: Parameters<typeof msg>[0]) => msg({ text: '', recalled: true, ...p });

  it('the preview of a recalled last message says who recalled it', () => {
    expect(previewText(conv({ lastMessage: recalled({ own: true, fromName: 'Tom', recalledByName: 'Tom' }) }), en)).toBe('You recalled a message');
    expect(previewText(conv({ lastMessage: recalled({ fromName: 'Tom', recalledByName: 'Tom' }) }), en)).toBe('Tom recalled a message');
    expect(previewText(conv({ type: 'GROUP_CHAT', lastMessage: recalled({ fromName: 'Jerry', recalledByName: null }) }), zh)).toBe(
      'Jerry 撤回了一条消息',
    );
  });

  it("a group's manager recalling someone else's message is named (the user too, by their name)", () => {
    const byManager = recalled({ fromName: 'Jerry', recalledByName: 'Spike' });
    expect(recallText(byManager, en, 'Tom')).toBe('Spike recalled a message from Jerry');
    expect(recallText(byManager, en, 'Spike')).toBe('You recalled a message from Jerry');
    expect(recallText(recalled({ own: true, fromName: 'Tom', recalledByName: 'Spike' }), en, 'Tom')).toBe('Spike recalled your message');
    expect(recallText(recalled({ own: true, fromName: 'Tom', recalledByName: 'Spike' }), zh, 'Tom')).toBe('Spike 撤回了你的一条消息');
  });

  it('an update of the last message shows in the preview (not moved, not an older revision, not another message)', () => {
    const last = msg({ conversationId: 'a', seq: 4, text: 'typo' });
    const list = [conv({ id: 'a', lastActivity: 10, lastMessage: last }), conv({ id: 'b', lastActivity: 5 })];
    const edited = { ...last, text: 'fixed', editedAt: 20 };
    const next = applyUpdateToList(list, edited);
    expect(next[0].lastMessage?.text).toBe('fixed');
    expect(next[0].lastActivity).toBe(10);
    expect(applyUpdateToList(next, last)).toBe(next); // an older copy
    expect(applyUpdateToList(next, msg({ conversationId: 'a', seq: 2, editedAt: 30 }))).toBe(next); // not the last one
    // A stale copy as a `message` event does not take the recall back either.
    const gone = applyUpdateToList(next, { ...edited, text: '', recalled: true, recalledByName: 'Jerry' });
    expect(applyMessageToList(gone, last)[0].lastMessage).toBe(gone[0].lastMessage);
  });

  it('a `conversation` copy made before an edit that arrived after it does not take the edit back', () => {
    const last = msg({ conversationId: 'a', seq: 4, text: 'typo' });
    const held = [conv({ id: 'a', lastActivity: 10, lastMessage: { ...last, text: 'fixed', editedAt: 20 } })];
    const stale = conv({ id: 'a', lastActivity: 10, lastMessage: last, unreadCount: 3 });
    const next = upsertConversation(held, stale);
    expect(next[0].unreadCount).toBe(3);
    expect(next[0].lastMessage?.text).toBe('fixed');
  });

  it('a last message deleted here: the one before it shows, when known', () => {
    const last = msg({ conversationId: 'a', seq: 4 });
    const before = msg({ conversationId: 'a', seq: 3 });
    const list = [conv({ id: 'a', lastMessage: last })];
    expect(replaceDeletedLast(list, 'a', last.clientId, before)[0].lastMessage).toBe(before);
    expect(replaceDeletedLast(list, 'a', last.clientId, null)).toBe(list);
    expect(replaceDeletedLast(list, 'a', 'other', before)).toBe(list);
  });
});
