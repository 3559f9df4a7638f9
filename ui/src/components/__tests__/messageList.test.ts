// @vitest-environment happy-dom
// The message view in a chat: pinned to the bottom through a burst of incoming messages (also
// with rows measured taller than estimated), left where it is when the user scrolled up (a ↓
// button with the count, a "New messages" divider), sending always going to the bottom, and read
// marking waiting while scrolled up. happy-dom does no layout, so the scroller is given one: 640 px
// tall, its content as tall as the virtual list says, `scrollTop` clamped, scroll events fired.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { UiMessage } from '../../lib/api';
import { conv, msg } from '../../lib/__tests__/fixtures';
import { byId, render, settle, showMain, type, unmountAll, key } from './dom';
import { layOutScroller, settleLayout } from './layout';

const markRead = vi.fn(async (_a: { conversationId: string; seq: number }) => null);

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: (a: { conversationId: string; seq: number }) => markRead(a),
    loadMessages: async () => ({ messages: [], hasMore: false }),
    sendText: async (a: { conversationId: string; text: string }) =>
      msg({ conversationId: a.conversationId, text: a.text, own: true, from: 'u-tom', seq: null, id: null, status: 'sending' }),
  };
});

const { app } = await import('../../lib/store.svelte');
const ChatView = (await import('../ChatView.svelte')).default;

const chat = conv({ id: 'c1', displayTitle: 'Jerry', lastActivity: 1 });
const scroller = (el: HTMLElement) => byId(el, 'message-list')!;
const distanceToBottom = (s: HTMLElement) => s.scrollHeight - s.clientHeight - s.scrollTop;
const fromJerry = (text = 'hi') => msg({ conversationId: 'c1', text });

let restoreLayout: () => void;
beforeEach(() => {
  restoreLayout = layOutScroller();
  showMain(app, [chat]);
  markRead.mockClear();
  vi.spyOn(document, 'hasFocus').mockReturnValue(true);
});
afterEach(() => {
  unmountAll();
  app.threadStore.reset();
  restoreLayout();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

/** The chat open on 30 messages, at the bottom. */
async function openChat() {
  app.selectedId = 'c1';
  const thread = app.threadStore.open('c1');
  thread.messages = Array.from({ length: 30 }, () => fromJerry());
  thread.loaded = true;
  thread.hasMore = false;
  const el = render(ChatView, { conversation: chat });
  await settleLayout();
  expect(distanceToBottom(scroller(el)), 'opens at the bottom').toBeLessThanOrEqual(48);
  return { el, thread };
}

function arrive(thread: { messages: UiMessage[] }, messages: UiMessage[]) {
  for (const m of messages) {
    thread.messages = [...thread.messages, m]; // one event each
    flushSync();
  }
}

describe('the message view follows new messages', () => {
  it('stays at the bottom through a burst of 20, also when rows turn out taller than estimated', async () => {
    const { el, thread } = await openChat();
    arrive(thread, Array.from({ length: 20 }, (_, i) => fromJerry(i % 3 === 0 ? `a tall one ${i}` : `short ${i}`)));
    await settleLayout();
    expect(distanceToBottom(scroller(el))).toBeLessThanOrEqual(48);
    const texts = [...el.querySelectorAll('[data-testid="message-text"]')].map((x) => x.textContent);
    expect(texts).toContain('short 19'); // the newest is rendered (in view)
    expect(byId(el, 'jump-to-bottom')).toBeNull();
    expect(byId(el, 'new-messages')).toBeNull();
  });

  it('scrolled up: the view stays, a ↓ button counts the new messages, a divider marks the first; ↓ goes down', async () => {
    const { el, thread } = await openChat();
    const s = scroller(el);
    s.scrollTop = s.scrollTop - 200; // the user scrolls up
    await settleLayout();
    const top = s.scrollTop;
    arrive(thread, [fromJerry('first new'), fromJerry('second new'), fromJerry('third new')]);
    await settleLayout();
    expect(s.scrollTop).toBe(top);
    const jump = byId(el, 'jump-to-bottom')!;
    expect(byId(jump, 'jump-count')?.textContent).toBe('3');
    expect(jump.getAttribute('aria-label')).toBe('Scroll to the newest message (3 new)');
    const divider = byId(el, 'new-messages')!;
    expect(divider.textContent?.trim()).toBe('New messages');
    // Right above the first new message.
    const rows = [...el.querySelectorAll('[data-testid="new-messages"], [data-testid="message-text"]')].map((x) => x.textContent?.trim());
    expect(rows.slice(rows.indexOf('New messages'), rows.indexOf('New messages') + 2)).toEqual(['New messages', 'first new']);

    jump.click();
    await settleLayout();
    expect(distanceToBottom(s)).toBeLessThanOrEqual(48);
    expect(byId(el, 'jump-to-bottom')).toBeNull();
  });

  it('sending scrolls to the bottom from anywhere, and the divider goes', async () => {
    const { el, thread } = await openChat();
    const s = scroller(el);
    s.scrollTop = 0;
    await settleLayout();
    arrive(thread, [fromJerry('while away')]);
    await settleLayout();
    expect(byId(el, 'jump-count')?.textContent).toBe('1');
    type(byId(el, 'composer') as HTMLTextAreaElement, 'my answer');
    key(byId(el, 'composer')!, 'Enter');
    await settleLayout();
    expect(distanceToBottom(s)).toBeLessThanOrEqual(48);
    expect(byId(el, 'new-messages')).toBeNull();
    expect(byId(el, 'jump-to-bottom')).toBeNull();
  });

  it('marks read only at the bottom: scrolled up, new messages wait until the view is back down', async () => {
    const { el, thread } = await openChat();
    const s = scroller(el);
    await settle();
    markRead.mockClear();
    s.scrollTop = s.scrollTop - 300;
    await settleLayout();
    arrive(thread, [fromJerry('unread')]);
    await settleLayout();
    expect(markRead).not.toHaveBeenCalled();
    s.scrollTop = s.scrollHeight; // the user scrolls back down
    await settleLayout();
    expect(markRead).toHaveBeenCalledWith({ conversationId: 'c1', seq: thread.messages[thread.messages.length - 1].seq });
  });
});
