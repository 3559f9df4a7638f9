import { describe, expect, it } from 'vitest';
import {
  applyMessageToList,
  initials,
  oneLine,
  previewText,
  removeConversation,
  sortConversations,
  titleOf,
  upsertConversation,
} from '../conversations';
import { createTranslator } from '../i18n';
import { conv, msg } from './fixtures';

const en = createTranslator('en');

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
    const list = [conv({ id: 'a', lastMessage: last, lastActivity: 1000, lastSeq: 10 })];
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

  it('uses the display title, then the title', () => {
    expect(titleOf(conv({ displayTitle: 'Jerry', title: '' }))).toBe('Jerry');
    expect(titleOf(conv({ displayTitle: '', title: 'Club' }))).toBe('Club');
  });

  it('makes initials', () => {
    expect(initials('Tom Cat')).toBe('TC');
    expect(initials('jerry')).toBe('J');
    expect(initials('张三')).toBe('张');
    expect(initials('  ')).toBe('?');
    expect(oneLine('  a \n\n b  ')).toBe('a b');
  });
});
