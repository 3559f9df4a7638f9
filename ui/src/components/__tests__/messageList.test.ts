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

const VIEWPORT_PX = 640;
const ROW_PX = 64;
/** Rows whose text says "tall" are measured this tall (the list estimated them at ROW_PX). */
const TALL_ROW_PX = 240;

/** The layout happy-dom lacks, for the message list's scroller only. */
function layOutScroller() {
  const proto = HTMLElement.prototype;
  const saved = (['scrollTop', 'scrollHeight', 'clientHeight', 'offsetParent'] as const).map(
    (name) => [name, Object.getOwnPropertyDescriptor(proto, name) ?? Object.getOwnPropertyDescriptor(Element.prototype, name)] as const,
  );
  const savedScrollTo = proto.scrollTo;
  const savedScrollBy = proto.scrollBy;
  const tops = new WeakMap<HTMLElement, number>();
  const isScroller = (el: HTMLElement) => el.dataset?.testid === 'message-list';
  const contentHeight = (el: HTMLElement) => {
    const list = el.querySelector<HTMLElement>('.content > div');
    return (list ? parseFloat(list.style.height) || 0 : 0) + 10; // + the content's padding
  };
  const maxTop = (el: HTMLElement) => Math.max(0, contentHeight(el) - VIEWPORT_PX);
  const setTop = (el: HTMLElement, top: number) => {
    const next = Math.min(Math.max(0, top), maxTop(el));
    if (next === (tops.get(el) ?? 0)) return;
    tops.set(el, next);
    setTimeout(() => el.dispatchEvent(new Event('scroll')), 0);
  };
  Object.defineProperty(proto, 'scrollTop', {
    configurable: true,
    get(this: HTMLElement) {
      return isScroller(this) ? Math.min(tops.get(this) ?? 0, maxTop(this)) : 0;
    },
    set(this: HTMLElement, v: number) {
      if (isScroller(this)) setTop(this, v);
    },
  });
  Object.defineProperty(proto, 'scrollHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return isScroller(this) ? Math.max(VIEWPORT_PX, contentHeight(this)) : 0;
    },
  });
  Object.defineProperty(proto, 'clientHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return isScroller(this) ? VIEWPORT_PX : 0;
    },
  });
  // virtua measures only items that are laid out.
  Object.defineProperty(proto, 'offsetParent', {
    configurable: true,
    get(this: HTMLElement) {
      return this.parentElement;
    },
  });
  proto.scrollTo = function (this: HTMLElement, a?: ScrollToOptions | number, b?: number) {
    const top = typeof a === 'object' ? a.top : b;
    if (isScroller(this) && top !== undefined) setTop(this, top);
  } as typeof proto.scrollTo;
  proto.scrollBy = function (this: HTMLElement, a?: ScrollToOptions | number, b?: number) {
    const dy = typeof a === 'object' ? a.top : b;
    if (isScroller(this) && dy !== undefined) setTop(this, this.scrollTop + dy);
  } as typeof proto.scrollBy;

  // Rows are ROW_PX tall ("tall" ones TALL_ROW_PX), the scroller VIEWPORT_PX.
  class FakeResizeObserver {
    constructor(private cb: ResizeObserverCallback) {}
    observe(target: Element) {
      const el = target as HTMLElement;
      const height = isScroller(el) ? VIEWPORT_PX : el.textContent?.includes('tall') ? TALL_ROW_PX : ROW_PX;
      const entry = { target, contentRect: { width: 600, height } } as unknown as ResizeObserverEntry;
      setTimeout(() => this.cb([entry], this as unknown as ResizeObserver), 0);
    }
    unobserve() {}
    disconnect() {}
  }
  vi.stubGlobal('ResizeObserver', FakeResizeObserver);

  return () => {
    for (const [name, d] of saved) {
      if (d) Object.defineProperty(proto, name, d);
      else delete (proto as unknown as Record<string, unknown>)[name];
    }
    proto.scrollTo = savedScrollTo;
    proto.scrollBy = savedScrollBy;
  };
}

/** Lets timers, frames and the list's measuring run (several rounds: each can start another). */
async function settleLayout() {
  for (let i = 0; i < 12; i++) {
    await settle();
    await new Promise((r) => setTimeout(r, 20));
  }
}

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
