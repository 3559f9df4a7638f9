// @vitest-environment happy-dom
// The components that carry the new contract: read ticks, the group-size rule, the text limit
// from app_info, and the sign-in screen's keyring / signed-out messages.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { UserInfo } from '../../lib/api';
import { conv, msg } from '../../lib/__tests__/fixtures';
import { byId, render, settle, stubResizeObserver, type, unmountAll } from './dom';

const users: Record<string, UserInfo> = {
  jerry: { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' },
  spike: { uid: 'u-spike', username: 'spike', displayName: 'Spike' },
};

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    findUser: async (a: { username: string }) => users[a.username] ?? null,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    listConversations: vi.fn(async () => []),
    createConversation: vi.fn(async (a: { userIds: string[]; title: string }) =>
      conv({ id: 'g1', type: 'GROUP_CHAT', title: a.title, userIds: ['u-tom', ...a.userIds] }),
    ),
  };
});

const { app } = await import('../../lib/store.svelte');
const MessageBubble = (await import('../MessageBubble.svelte')).default;
const NewChatDialog = (await import('../NewChatDialog.svelte')).default;
const Composer = (await import('../Composer.svelte')).default;
const AuthScreen = (await import('../AuthScreen.svelte')).default;
const ConversationList = (await import('../ConversationList.svelte')).default;

beforeEach(() => {
  app.info = { version: '1', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.account = { uid: 'u-tom', username: 'tom', displayName: 'Tom', serverUrl: 'ws://x' };
  app.authError = null;
  app.signedOutReason = null;
});
afterEach(unmountAll);

describe('MessageBubble status', () => {
  it('own sent message: the "sent" tick, data-read="false"', () => {
    const el = render(MessageBubble, { message: msg({ own: true, seq: 4 }), showSender: false });
    const status = byId(el, 'message-status')!;
    expect(status.dataset.read).toBe('false');
    expect(status.querySelector('[role="img"]')?.getAttribute('aria-label')).toBe('Sent');
  });

  it('own message read by the peer: the "read" double tick', () => {
    const el = render(MessageBubble, { message: msg({ own: true, seq: 4 }), showSender: false, read: true });
    const status = byId(el, 'message-status')!;
    expect(status.dataset.read).toBe('true');
    expect(status.querySelector('[role="img"]')?.getAttribute('aria-label')).toBe('Read');
  });

  it('messages of others have no status', () => {
    const el = render(MessageBubble, { message: msg({ own: false }), showSender: false });
    expect(byId(el, 'message-status')).toBeNull();
  });
});

describe('NewChatDialog', () => {
  it('keeps "Create group" disabled, with a hint, until 2 other members are added', async () => {
    const el = render(NewChatDialog, { onclose: () => {} });
    const create = byId(el, 'new-chat-create-group') as HTMLButtonElement;
    const input = byId(el, 'new-chat-username') as HTMLInputElement;
    expect(create.disabled).toBe(true);
    expect(byId(el, 'new-chat-group-hint')?.textContent).toContain('(2 more)');
    expect(create.getAttribute('aria-describedby')).toBe('new-chat-group-hint');

    type(input, 'jerry');
    byId(el, 'new-chat-add')!.click();
    await settle();
    expect(create.disabled).toBe(true);
    expect(byId(el, 'new-chat-group-hint')?.textContent).toContain('(1 more)');

    type(input, '@spike');
    byId(el, 'new-chat-add')!.click();
    await settle();
    expect(create.disabled).toBe(false);
    expect(byId(el, 'new-chat-group-hint')).toBeNull();
    expect(byId(el, 'new-chat-error')!.hidden).toBe(true);
  });
});

describe('Composer', () => {
  it('uses maxTextChars from app_info instead of 4096', () => {
    app.info = { ...app.info!, maxTextChars: 10 };
    const el = render(Composer, { conversationId: 'c-limit' });
    const box = byId(el, 'composer') as HTMLTextAreaElement;
    const send = byId(el, 'send') as HTMLButtonElement;
    type(box, 'x'.repeat(10));
    expect(send.disabled).toBe(false);
    expect(el.querySelector('.count')?.textContent).toBe('10 / 10');
    type(box, 'x'.repeat(11));
    expect(send.disabled).toBe(true);
    expect(el.querySelector('.count')?.textContent).toContain('11 of 10');
  });
});

describe('AuthScreen', () => {
  it('shows keyring_unavailable prominently, with the explanation and the backend detail', () => {
    app.authError = { code: 'keyring_unavailable', message: 'org.freedesktop.secrets is not running' };
    const el = render(AuthScreen, {});
    const alert = byId(el, 'auth-error')!;
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.dataset.code).toBe('keyring_unavailable');
    expect(alert.textContent).toContain('The system keyring is missing or locked');
    expect(alert.textContent).toContain('credentials were not stored');
    expect(alert.textContent).toContain('org.freedesktop.secrets is not running');
  });

  it('after a signedOut event: the reason, and the last server and username filled in', () => {
    app.signedOutReason = 'Your session was revoked.';
    app.lastServerUrl = 'ws://last';
    app.lastUsername = 'tom';
    const el = render(AuthScreen, {});
    expect(byId(el, 'signed-out')?.textContent?.trim()).toBe('You were signed out: Your session was revoked.');
    expect((byId(el, 'server-url') as HTMLInputElement).value).toBe('ws://last');
    expect((byId(el, 'username') as HTMLInputElement).value).toBe('tom');
    expect(byId(el, 'auth-error')).toBeNull();
  });
});

describe('ConversationList', () => {
  // happy-dom does no layout: a ResizeObserver that reports a 640 px viewport and 64 px rows.
  beforeEach(() => {
    stubResizeObserver(['conversation-list']);
    Object.defineProperty(HTMLElement.prototype, 'offsetParent', {
      configurable: true,
      get(this: HTMLElement) {
        return this.parentElement;
      },
    });
  });
  const offsetParent = Object.getOwnPropertyDescriptor(HTMLElement.prototype, 'offsetParent');
  afterEach(() => {
    if (offsetParent) Object.defineProperty(HTMLElement.prototype, 'offsetParent', offsetParent);
    else delete (HTMLElement.prototype as { offsetParent?: unknown }).offsetParent;
    vi.unstubAllGlobals();
  });

  it('is a virtual list: a list of listitems, only the rows near the viewport in the DOM, with the test ids', async () => {
    app.conversations = Array.from({ length: 3000 }, (_, i) =>
      conv({ id: `c${i}`, displayTitle: `Chat ${i}`, lastActivity: 3000 - i, unreadCount: i === 0 ? 2 : 0, lastMessage: msg({ text: `hello ${i}` }) }),
    );
    app.conversationsLoaded = true;
    app.conversationsComplete = true;
    app.selectedId = 'c1';
    const el = render(ConversationList, {});
    await settle();
    const list = byId(el, 'conversation-list')!;
    expect(list.getAttribute('role')).toBe('list');
    const items = [...el.querySelectorAll<HTMLElement>('[data-testid="conversation-item"]')];
    expect(items.length).toBeGreaterThan(0);
    expect(items.length).toBeLessThan(40); // of 3000
    const first = items.find((b) => b.dataset.conversationId === 'c0')!;
    expect(first.closest('[role="listitem"]')?.getAttribute('aria-posinset')).toBe('1');
    expect(first.closest('[role="listitem"]')?.getAttribute('aria-setsize')).toBe('3000');
    expect(byId(first, 'conversation-title')?.textContent).toBe('Chat 0');
    expect(byId(first, 'conversation-preview')?.textContent).toBe('hello 0');
    expect(byId(first, 'unread-badge')?.textContent).toBe('2');
    expect(el.querySelector('[aria-current="true"]')?.getAttribute('data-conversation-id')).toBe('c1');
    app.conversations = [];
    app.selectedId = null;
  });

  it('asks for the next page near the end of the list, only after ui_ready', async () => {
    const more = vi.spyOn(app, 'loadMoreConversations').mockResolvedValue();
    app.conversations = Array.from({ length: 50 }, (_, i) => conv({ id: `c${i}`, lastActivity: 50 - i }));
    app.conversationsLoaded = true;
    app.conversationsComplete = false;
    app.ready = false;
    const el = render(ConversationList, {});
    await settle();
    const list = byId(el, 'conversation-list')!;
    expect(list.getAttribute('aria-busy')).toBe('false');
    // (happy-dom has no layout: the end of the list is always "in view".)
    list.dispatchEvent(new Event('scroll'));
    expect(more).toHaveBeenCalledTimes(1); // refused by the store itself before ui_ready
    more.mockClear();
    app.ready = true;
    flushSync();
    await new Promise((r) => setTimeout(r, 50)); // the frame of the "end in view" check
    expect(more).toHaveBeenCalled();
    more.mockRestore();
    app.conversations = [];
    app.ready = false;
  });
});
