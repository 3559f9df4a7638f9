// @vitest-environment happy-dom
// Muting, leaving and blocking on screen: the conversation menu, the confirmations, the muted
// marks in the list, the banner of a blocked chat, why a message was not sent, the blocked list,
// and the "added you to" notice.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { ConversationItem, UserInfo } from '../../lib/api';
import { conv, msg } from '../../lib/__tests__/fixtures';
import { byId, key, render, settle, showMain, stubResizeObserver, type, unmountAll } from './dom';

const jerry: UserInfo = { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' };
const spike: UserInfo = { uid: 'u-spike', username: 'spike', displayName: 'Spike' };
const tom: UserInfo = { uid: 'u-tom', username: 'tom', displayName: 'Tom' };

const api = vi.hoisted(() => ({
  setMuted: vi.fn(async (_a: { conversationId: string; muted: boolean }) => null),
  leaveConversation: vi.fn(async (_a: { conversationId: string }) => null),
  blockUser: vi.fn(async (_a: { uid: string }) => null),
  unblockUser: vi.fn(async (_a: { uid: string }) => null),
  blockedUsers: vi.fn(async (): Promise<UserInfo[]> => []),
  listConversations: vi.fn(async (): Promise<ConversationItem[]> => []),
  findUser: vi.fn(async (a: { username: string }): Promise<UserInfo | null> =>
    ({ jerry: { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' }, spike: { uid: 'u-spike', username: 'spike', displayName: 'Spike' } })[a.username] ?? null,
  ),
  createConversation: vi.fn(async (_a: { userIds: string[]; title: string; unique: boolean }): Promise<ConversationItem> => {
    throw { code: 'blocked', message: 'one of you has blocked the other' };
  }),
}));

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    ...api,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: ok,
    loadMessages: async () => ({ messages: [], hasMore: false }),
  };
});

const { app } = await import('../../lib/store.svelte');
const MainScreen = (await import('../MainScreen.svelte')).default;
const ChatView = (await import('../ChatView.svelte')).default;
const ConversationList = (await import('../ConversationList.svelte')).default;
const MessageBubble = (await import('../MessageBubble.svelte')).default;
const Toasts = (await import('../Toasts.svelte')).default;
const NewChatDialog = (await import('../NewChatDialog.svelte')).default;

const chat = conv({ id: 'c-jerry', displayTitle: 'Jerry', peer: jerry, lastActivity: 3 });
const group = conv({ id: 'c-group', type: 'GROUP_CHAT', title: 'Club', displayTitle: 'Club', lastActivity: 2, userIds: ['u-tom', 'u-jerry', 'u-spike'] });

beforeEach(() => {
  stubResizeObserver(['conversation-list', 'message-list']);
  showMain(app, [chat, group]);
  app.blocks.reset();
  app.noticeStore.reset();
  app.leaveRequest = null;
  app.blockRequest = null;
  app.blockedUsersOpen = false;
  for (const f of Object.values(api)) f.mockClear();
});
afterEach(() => {
  unmountAll();
  for (const t of app.toasts) app.dismissToast(t.id);
  vi.unstubAllGlobals();
});

function openMenu(el: HTMLElement) {
  byId(el, 'chat-menu')!.click();
  flushSync();
}

describe('the conversation menu', () => {
  it('is a menu button; ↓ / ↑ move between the items, Esc closes it and gives the focus back', async () => {
    const el = render(ChatView, { conversation: chat });
    const button = byId(el, 'chat-menu')!;
    expect(button.getAttribute('aria-haspopup')).toBe('menu');
    expect(button.getAttribute('aria-expanded')).toBe('false');
    expect(button.getAttribute('aria-label')).toBe('Conversation actions');
    openMenu(el);
    await settle();
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const items = [...el.querySelectorAll<HTMLElement>('[role="menuitem"]')];
    expect(items.map((i) => i.dataset.testid)).toEqual(['mute-toggle', 'block-user']);
    expect(document.activeElement).toBe(items[0]);
    key(items[0], 'ArrowDown');
    expect(document.activeElement).toBe(items[1]);
    key(items[1], 'ArrowDown');
    expect(document.activeElement).toBe(items[0]);
    key(items[0], 'Escape');
    expect(byId(el, 'mute-toggle')).toBeNull();
    expect(document.activeElement).toBe(button);
  });

  it('Mute / Unmute follow the conversation, and call set_muted', async () => {
    const el = render(ChatView, { conversation: chat });
    openMenu(el);
    const toggle = byId(el, 'mute-toggle')!;
    expect(toggle.textContent?.trim()).toBe('Mute notifications');
    expect(toggle.dataset.muted).toBe('false');
    toggle.click();
    await settle();
    expect(api.setMuted).toHaveBeenCalledWith({ conversationId: 'c-jerry', muted: true });
    expect(byId(el, 'mute-toggle')).toBeNull(); // the menu closed

    const muted = render(ChatView, { conversation: { ...chat, muted: true } });
    expect(byId(muted, 'chat-muted')?.querySelector('[role="img"]')?.getAttribute('aria-label')).toBe('Muted: no notifications');
    openMenu(muted);
    expect(byId(muted, 'mute-toggle')?.textContent?.trim()).toBe('Unmute notifications');
    byId(muted, 'mute-toggle')!.click();
    await settle();
    expect(api.setMuted).toHaveBeenLastCalledWith({ conversationId: 'c-jerry', muted: false });
  });

  it('a group offers Leave (after a confirmation), no Block', async () => {
    app.selectedId = 'c-group';
    api.listConversations.mockResolvedValueOnce([chat]); // asked again after leaving
    const el = render(MainScreen, {});
    await settle();
    openMenu(el);
    expect(byId(el, 'block-user')).toBeNull();
    byId(el, 'leave-group')!.click();
    flushSync();
    const dialog = byId(el, 'leave-group-dialog')!;
    expect(dialog.getAttribute('role')).toBe('alertdialog');
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Leave “Club”?');
    expect(dialog.textContent).toContain('You will stop getting its messages');
    expect(document.activeElement).toBe(byId(el, 'leave-group-dialog-cancel')); // the safe choice
    expect(api.leaveConversation).not.toHaveBeenCalled();
    byId(el, 'leave-group-dialog-confirm')!.click();
    await settle();
    expect(api.leaveConversation).toHaveBeenCalledWith({ conversationId: 'c-group' });
    expect(byId(el, 'leave-group-dialog')).toBeNull();
    expect(app.conversations.map((c) => c.id)).toEqual(['c-jerry']);
    expect(app.selectedId).toBeNull();
  });

  it('Cancel or Esc leaves nobody', async () => {
    app.selectedId = 'c-group';
    const el = render(MainScreen, {});
    await settle();
    openMenu(el);
    byId(el, 'leave-group')!.click();
    flushSync();
    key(byId(el, 'leave-group-dialog')!, 'Escape');
    expect(byId(el, 'leave-group-dialog')).toBeNull();
    expect(api.leaveConversation).not.toHaveBeenCalled();
    app.selectedId = null;
  });

  it('a 1:1 chat offers Block @username, explains it first, and then shows the banner instead of the composer', async () => {
    app.selectedId = 'c-jerry';
    const el = render(MainScreen, {});
    await settle();
    expect(byId(el, 'composer')).not.toBeNull();
    openMenu(el);
    const block = byId(el, 'block-user')!;
    expect(block.textContent?.trim()).toBe('Block @jerry');
    block.click();
    flushSync();
    const dialog = byId(el, 'block-user-dialog')!;
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Block @jerry?');
    expect(dialog.textContent).toContain('Jerry (@jerry) will not be able to message you or add you to groups.');
    byId(el, 'block-user-dialog-confirm')!.click();
    await settle();
    expect(api.blockUser).toHaveBeenCalledWith({ uid: 'u-jerry' });
    expect(app.isBlocked('u-jerry')).toBe(true);

    const banner = byId(el, 'blocked-banner')!;
    expect(banner.textContent).toContain('You blocked @jerry.');
    expect(byId(el, 'composer')).toBeNull();
    openMenu(el);
    expect(byId(el, 'block-user')).toBeNull();
    expect(byId(el, 'unblock-user')?.textContent?.trim()).toBe('Unblock @jerry');
    key(byId(el, 'unblock-user')!, 'Escape');

    byId(el, 'blocked-banner-unblock')!.click();
    await settle();
    expect(api.unblockUser).toHaveBeenCalledWith({ uid: 'u-jerry' });
    expect(byId(el, 'blocked-banner')).toBeNull();
    expect(byId(el, 'composer')).not.toBeNull();
    app.selectedId = null;
  });

  it('a blockChanged event from another device shows the banner too', () => {
    const el = render(ChatView, { conversation: chat });
    app.blocks.changed('u-jerry', true);
    flushSync();
    expect(byId(el, 'blocked-banner')).not.toBeNull();
    app.blocks.changed('u-jerry', false);
    flushSync();
    expect(byId(el, 'blocked-banner')).toBeNull();
  });
});

describe('the list', () => {
  it('marks a muted conversation (with a text alternative) and quiets its unread badge', async () => {
    app.conversations = [
      { ...chat, muted: true, unreadCount: 3 },
      { ...group, unreadCount: 2 },
    ];
    const el = render(ConversationList, {});
    await settle();
    const row = (id: string) => el.querySelector<HTMLElement>(`[data-conversation-id="${id}"]`)!;
    const indicator = byId(row('c-jerry'), 'muted-indicator')!;
    expect(indicator.querySelector('[role="img"]')?.getAttribute('aria-label')).toBe('Muted');
    expect(byId(row('c-jerry'), 'unread-badge')?.dataset.muted).toBe('true');
    expect(byId(row('c-jerry'), 'unread-badge')?.classList.contains('muted-badge')).toBe(true);
    expect(byId(row('c-group'), 'muted-indicator')).toBeNull();
    expect(byId(row('c-group'), 'unread-badge')?.dataset.muted).toBe('false');
  });
});

describe('why a message was not sent', () => {
  const failed = msg({ conversationId: 'c-jerry', own: true, from: 'u-tom', status: 'failed', seq: null, id: null, error: { code: 'blocked', message: 'one of you has blocked the other' } });

  it('a blocked 1:1 message says the peer is not accepting messages (in the open chat)', async () => {
    const thread = app.threadStore.open('c-jerry');
    thread.messages = [failed];
    thread.loaded = true;
    thread.hasMore = false;
    const el = render(ChatView, { conversation: chat });
    await settle();
    expect(byId(el, 'message-failure')?.textContent).toBe('@jerry isn’t accepting your messages.');
    expect(byId(el, 'retry')).not.toBeNull();
    app.threadStore.reset();
  });

  it('MessageBubble shows the reason it is given, else the error text', () => {
    let el = render(MessageBubble, { message: failed, showSender: false, failure: 'Not sent: you blocked @jerry.' });
    expect(byId(el, 'message-failure')?.textContent).toBe('Not sent: you blocked @jerry.');
    expect(byId(el, 'message-status')?.title).toBe('Not sent: you blocked @jerry.');
    el = render(MessageBubble, { message: failed, showSender: false });
    expect(byId(el, 'message-failure')?.textContent).toBe('One of you has blocked the other.');
  });
});

describe('the blocked users dialog', () => {
  it('opens from the account bar, loads the list, unblocks', async () => {
    api.blockedUsers.mockResolvedValueOnce([spike, jerry]);
    const el = render(MainScreen, {});
    const open = byId(el, 'blocked-users-open')!;
    expect(open.getAttribute('aria-label')).toBe('Blocked users');
    open.focus();
    open.click();
    await settle();
    expect(api.blockedUsers).toHaveBeenCalled();
    const dialog = byId(el, 'blocked-users-dialog')!;
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    const rows = [...byId(el, 'blocked-users-list')!.querySelectorAll<HTMLElement>('[data-testid="blocked-user"]')];
    expect(rows.map((r) => [byId(r, 'blocked-user-name')?.textContent, byId(r, 'blocked-user-username')?.textContent])).toEqual([
      ['Spike', '@spike'],
      ['Jerry', '@jerry'],
    ]);
    const unblock = byId(rows[0], 'blocked-users-unblock')!;
    expect(unblock.getAttribute('aria-label')).toBe('Unblock @spike');
    unblock.click();
    await settle();
    expect(api.unblockUser).toHaveBeenCalledWith({ uid: 'u-spike' });
    expect([...el.querySelectorAll('[data-testid="blocked-user"]')].map((r) => (r as HTMLElement).dataset.uid)).toEqual(['u-jerry']);
    key(dialog, 'Escape');
    expect(byId(el, 'blocked-users-dialog')).toBeNull();
    expect(document.activeElement).toBe(open);
  });

  it('says when nobody is blocked', async () => {
    const el = render(MainScreen, {});
    byId(el, 'blocked-users-open')!.click();
    await settle();
    expect(byId(el, 'blocked-users-empty')?.textContent).toBe('You haven’t blocked anyone.');
    expect(byId(el, 'blocked-users-list')?.querySelectorAll('li')).toHaveLength(0);
    byId(el, 'blocked-users-close')!.click();
    flushSync();
    expect(byId(el, 'blocked-users-dialog')).toBeNull();
  });

  it('a failed load says so, with a toast and Try again', async () => {
    api.blockedUsers.mockRejectedValueOnce({ code: 'offline', message: 'not connected to the server' });
    const el = render(MainScreen, {});
    byId(el, 'blocked-users-open')!.click();
    await settle();
    expect(byId(el, 'blocked-users-error')?.textContent).toContain('The list could not be loaded.');
    expect(app.toasts.map((t) => t.text)).toEqual(['You are offline. Try again once you are connected.']);
    api.blockedUsers.mockResolvedValueOnce([jerry]);
    byId(el, 'blocked-users-retry')!.click();
    await settle();
    expect(byId(el, 'blocked-users-error')).toBeNull();
    expect(byId(el, 'blocked-user')?.dataset.uid).toBe('u-jerry');
  });
});

describe('the "added you to" notice', () => {
  it('names who (with the @username) and the group; Mute mutes; Leave asks first', async () => {
    const el = render(MainScreen, {});
    const toasts = render(Toasts, {});
    app.noticeStore.added({ kind: 'addedToGroup', conversationId: 'c-group', title: 'Club', by: tom });
    flushSync();
    const notice = byId(toasts, 'added-to-group-toast')!;
    expect(notice.dataset.conversationId).toBe('c-group');
    expect(byId(notice, 'added-to-group-text')?.textContent).toBe('Tom (@tom) added you to “Club”');
    const mute = byId(notice, 'added-to-group-mute')!;
    expect(mute.getAttribute('aria-pressed')).toBe('false');
    mute.click();
    await settle();
    expect(api.setMuted).toHaveBeenCalledWith({ conversationId: 'c-group', muted: true });
    expect(byId(notice, 'added-to-group-mute')?.getAttribute('aria-pressed')).toBe('true');
    expect(byId(notice, 'added-to-group-mute')?.textContent?.trim()).toBe('Unmute');

    byId(notice, 'added-to-group-leave')!.click();
    flushSync();
    expect(byId(el, 'leave-group-dialog')).not.toBeNull();
    byId(el, 'leave-group-dialog-confirm')!.click();
    await settle();
    expect(api.leaveConversation).toHaveBeenCalledWith({ conversationId: 'c-group' });
    expect(byId(toasts, 'added-to-group-toast')).toBeNull(); // gone with the group
  });

  it('an untitled group is "a group"; Dismiss removes the notice', () => {
    const toasts = render(Toasts, {});
    app.noticeStore.added({ kind: 'addedToGroup', conversationId: 'g9', title: '', by: tom });
    flushSync();
    expect(byId(toasts, 'added-to-group-text')?.textContent).toBe('Tom (@tom) added you to a group');
    byId(toasts, 'added-to-group-dismiss')!.click();
    flushSync();
    expect(byId(toasts, 'added-to-group-toast')).toBeNull();
  });

  it('never renders names or titles as HTML', () => {
    const toasts = render(Toasts, {});
    app.noticeStore.added({ kind: 'addedToGroup', conversationId: 'g9', title: '<b>x</b>', by: { ...tom, displayName: '<img src=x>' } });
    flushSync();
    expect(byId(toasts, 'added-to-group-text')?.textContent).toBe('<img src=x> (@tom) added you to “<b>x</b>”');
    expect(toasts.querySelector('img, b')).toBeNull();
  });
});

describe('starting a chat with someone who blocked the user (or whom they blocked)', () => {
  it('says so, naming them by @username', async () => {
    const el = render(NewChatDialog, { onclose: () => {} });
    type(byId(el, 'new-chat-username') as HTMLInputElement, 'jerry');
    byId(el, 'new-chat-start')!.click();
    await settle();
    expect(api.createConversation).toHaveBeenCalled();
    expect(byId(el, 'new-chat-error')?.textContent).toBe('You cannot start a chat with @jerry: one of you has blocked the other.');
  });

  it('for a group: someone in the list cannot be added', async () => {
    const el = render(NewChatDialog, { onclose: () => {} });
    const input = byId(el, 'new-chat-username') as HTMLInputElement;
    for (const name of ['jerry', 'spike']) {
      type(input, name);
      byId(el, 'new-chat-add')!.click();
      await settle();
    }
    type(byId(el, 'new-chat-title') as HTMLInputElement, 'Club');
    byId(el, 'new-chat-create-group')!.click();
    await settle();
    expect(byId(el, 'new-chat-error')?.textContent).toBe('Someone in the list cannot be added: one of you has blocked the other.');
  });
});
