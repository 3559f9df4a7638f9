// @vitest-environment happy-dom
// The main screen's safety nets: the sign-out confirmation, who a person really is (@username and
// the similar-name warning), error boundaries around the panes, and errors nobody caught.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { ConversationItem, UserInfo } from '../../lib/api';
import { conv, msg } from '../../lib/__tests__/fixtures';
import { byId, key, render, settle, showMain, stubResizeObserver, unmountAll } from './dom';

const users: Record<string, UserInfo> = {
  jerry: { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' },
  jerry_official: { uid: 'u-fake', username: 'jerry_official', displayName: 'J\u0435rry' }, // Cyrillic е
  spike: { uid: 'u-spike', username: 'spike', displayName: 'Spike' },
};

const signOut = vi.fn(async (_a?: { forgetData?: boolean }) => null);

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    signOut: (a?: { forgetData?: boolean }) => signOut(a),
    findUser: async (a: { username: string }) => users[a.username] ?? null,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: ok,
    loadMessages: async () => ({ messages: [], hasMore: false }),
    listConversations: async () => [],
  };
});

const { app } = await import('../../lib/store.svelte');
const { hueOf } = await import('../../lib/conversations');
const { installGlobalErrorHandlers } = await import('../../lib/globalErrors');
const MainScreen = (await import('../MainScreen.svelte')).default;
const ChatView = (await import('../ChatView.svelte')).default;
const MessageBubble = (await import('../MessageBubble.svelte')).default;
const NewChatDialog = (await import('../NewChatDialog.svelte')).default;
const ConversationList = (await import('../ConversationList.svelte')).default;
const Toasts = (await import('../Toasts.svelte')).default;

const jerry = conv({ id: 'c-jerry', displayTitle: 'Jerry', peer: users.jerry, lastActivity: 3 });
const fake = conv({ id: 'c-fake', title: 'Jerry (new account)', displayTitle: 'J\u0435rry', peer: users.jerry_official, lastActivity: 2 });
const spike = conv({ id: 'c-spike', displayTitle: 'Spike', peer: users.spike, lastActivity: 1 });
const group = conv({ id: 'c-group', type: 'GROUP_CHAT', title: 'Club', displayTitle: 'Club', userIds: ['u-tom', 'u-jerry', 'u-x'] });

beforeEach(() => {
  stubResizeObserver(['conversation-list']);
  showMain(app, [jerry, fake, spike, group]);
  signOut.mockClear();
});
afterEach(() => {
  unmountAll();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('sign-out confirmation', () => {
  it('the button opens an accessible dialog; Esc cancels without signing out', () => {
    const el = render(MainScreen, {});
    const button = byId(el, 'sign-out')!;
    button.focus();
    button.click();
    flushSync();
    const dialog = byId(el, 'sign-out-dialog')!;
    expect(dialog.getAttribute('role')).toBe('alertdialog');
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Sign out of Gtedx IM?');
    expect(dialog.textContent).toContain("Also remove this account's messages from this computer");
    expect(byId(el, 'sign-out-cancel')?.textContent?.trim()).toBe('Cancel');
    expect(byId(el, 'sign-out-confirm')?.textContent?.trim()).toBe('Sign out');
    // The safe choice has the focus.
    expect(document.activeElement).toBe(byId(el, 'sign-out-cancel'));

    key(document.activeElement!, 'Escape');
    expect(byId(el, 'sign-out-dialog')).toBeNull();
    expect(signOut).not.toHaveBeenCalled();
    expect(app.phase).toBe('main');
    expect(document.activeElement).toBe(button); // focus goes back
  });

  it('keeps Tab inside the dialog', () => {
    const el = render(MainScreen, {});
    byId(el, 'sign-out')!.click();
    flushSync();
    const checkbox = byId(el, 'sign-out-forget-data')!;
    const confirm = byId(el, 'sign-out-confirm')!;
    confirm.focus();
    key(confirm, 'Tab');
    expect(document.activeElement).toBe(checkbox); // from the last to the first
    key(checkbox, 'Tab', true);
    expect(document.activeElement).toBe(confirm); // and back
  });

  it('Sign out without the checkbox keeps the messages (forgetData: false)', async () => {
    const el = render(MainScreen, {});
    byId(el, 'sign-out')!.click();
    flushSync();
    byId(el, 'sign-out-confirm')!.click();
    await settle();
    expect(signOut).toHaveBeenCalledWith({ forgetData: false });
    expect(app.phase).toBe('auth');
  });

  it('with the checkbox, also removes the messages from this computer (forgetData: true)', async () => {
    const el = render(MainScreen, {});
    byId(el, 'sign-out')!.click();
    flushSync();
    const checkbox = byId(el, 'sign-out-forget-data') as HTMLInputElement;
    expect(checkbox.checked).toBe(false);
    checkbox.click();
    flushSync();
    byId(el, 'sign-out-confirm')!.click();
    await settle();
    expect(signOut).toHaveBeenCalledWith({ forgetData: true });
    expect(app.phase).toBe('auth');
  });

  it('a click outside the dialog cancels', () => {
    const el = render(MainScreen, {});
    byId(el, 'sign-out')!.click();
    flushSync();
    (byId(el, 'sign-out-dialog')!.parentElement as HTMLElement).click();
    flushSync();
    expect(byId(el, 'sign-out-dialog')).toBeNull();
    expect(signOut).not.toHaveBeenCalled();
  });

  it('says that signing out offline still works', () => {
    const el = render(MainScreen, {});
    byId(el, 'sign-out')!.click();
    flushSync();
    // (The app's connection is "connecting" here: not online.)
    expect(byId(el, 'sign-out-offline')?.textContent).toContain('offline');
  });
});

describe('who a person is', () => {
  it('the 1:1 header shows the @username beside the name, and warns about a look-alike contact', () => {
    const el = render(ChatView, { conversation: fake });
    expect(byId(el, 'chat-title')?.textContent).toBe('J\u0435rry'); // never the chat's own title
    expect(byId(el, 'chat-username')?.textContent).toBe('@jerry_official');
    const warning = byId(el, 'similar-name-warning')!;
    expect(warning.textContent).toContain('Another contact has a similar name');
    expect(warning.title).toContain('Jerry (@jerry)');
  });

  it('the real Jerry is warned about too; a distinct name is not', () => {
    let el = render(ChatView, { conversation: jerry });
    expect(byId(el, 'chat-username')?.textContent).toBe('@jerry');
    expect(byId(el, 'similar-name-warning')?.title).toContain('(@jerry_official)');
    el = render(ChatView, { conversation: spike });
    expect(byId(el, 'chat-username')?.textContent).toBe('@spike');
    expect(byId(el, 'similar-name-warning')).toBeNull();
  });

  it('no warning once the look-alike is gone from the contacts', () => {
    app.conversations = [jerry, spike];
    const el = render(ChatView, { conversation: jerry });
    expect(byId(el, 'similar-name-warning')).toBeNull();
  });

  it('the list marks both look-alikes, and gives the @username as the title\'s tooltip', async () => {
    const el = render(ConversationList, {});
    await settle();
    const row = (id: string) => el.querySelector<HTMLElement>(`[data-conversation-id="${id}"]`)!;
    expect(byId(row('c-fake'), 'conversation-similar')).not.toBeNull();
    expect(byId(row('c-jerry'), 'conversation-similar')).not.toBeNull();
    expect(byId(row('c-spike'), 'conversation-similar')).toBeNull();
    expect(byId(row('c-fake'), 'conversation-title')?.title).toBe('J\u0435rry (@jerry_official)');
  });

  it('a group header names no single person', () => {
    const el = render(ChatView, { conversation: group });
    expect(byId(el, 'chat-title')?.textContent).toBe('Club');
    expect(byId(el, 'chat-username')).toBeNull();
    expect(el.textContent).toContain('3 members');
  });

  it('a group message names its sender with the @username when known, and warns about a look-alike', () => {
    const m = msg({ from: 'u-x', fromName: 'Jerry' });
    const el = render(MessageBubble, { message: m, showSender: true, senderUsername: '', senderSimilarTo: 'Jerry (@jerry)' });
    expect(el.querySelector('.sender-name')?.textContent).toBe('Jerry');
    expect(byId(el, 'message-sender-username')).toBeNull();
    expect(byId(el, 'message-sender-similar')?.title).toContain('Jerry (@jerry)');
    const real = render(MessageBubble, { message: msg({ from: 'u-jerry' }), showSender: true, senderUsername: 'jerry' });
    expect(byId(real, 'message-sender-username')?.textContent).toBe('@jerry');
    expect(byId(real, 'message-sender-similar')).toBeNull();
  });

  it('the store knows group senders: a stranger named like a contact is flagged, the contact is matched by uid', async () => {
    app.selectedId = 'c-group';
    const thread = app.threadStore.open('c-group');
    thread.messages = [msg({ conversationId: 'c-group', from: 'u-x', fromName: 'JERRY' }), msg({ conversationId: 'c-group', from: 'u-jerry', fromName: 'Jerry' })];
    expect(app.similar.get('u-x')?.map((p) => p.uid).sort()).toEqual(['u-fake', 'u-jerry']);
    expect(app.usernames.get('u-jerry')).toBe('jerry');
    expect(app.usernames.has('u-x')).toBe(false);
    app.threadStore.reset();
    app.selectedId = null;
  });

  it('the new chat dialog shows the @username of each person found, and warns about look-alikes', async () => {
    const el = render(NewChatDialog, { onclose: () => {} });
    const input = byId(el, 'new-chat-username') as HTMLInputElement;
    for (const name of ['spike', 'jerry_official']) {
      input.value = name;
      input.dispatchEvent(new Event('input', { bubbles: true }));
      flushSync();
      byId(el, 'new-chat-add')!.click();
      await settle();
    }
    const chips = [...el.querySelectorAll<HTMLElement>('[data-testid="new-chat-member"]')];
    expect(chips.map((c) => byId(c, 'new-chat-member-username')?.textContent)).toEqual(['@spike', '@jerry_official']);
    expect(byId(chips[0], 'new-chat-member-similar')).toBeNull();
    expect(byId(chips[1], 'new-chat-member-similar')?.title).toContain('Jerry (@jerry)');
  });
});

describe('nothing blanks the screen', () => {
  // A conversation the UI cannot render (a backend bug): its preview has no text.
  const broken = { ...spike, lastMessage: { ...msg(), text: undefined } } as unknown as ConversationItem;

  it('a pane that fails shows a message and Retry; the rest of the window keeps working', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    app.conversations = [broken];
    const el = render(MainScreen, {});
    await settle();
    const fallback = byId(el, 'pane-error')!;
    expect(fallback.getAttribute('role')).toBe('alert');
    expect(fallback.textContent).toContain('This part of the window could not be shown.');
    expect(error).toHaveBeenCalled();
    // The header (sign out, new chat) and the chat pane are still there.
    expect(byId(el, 'sign-out')).not.toBeNull();
    expect(el.textContent).toContain('Select a conversation to start messaging');

    // The data is fixed (e.g. by the next event): Retry renders the pane again.
    app.conversations = [spike];
    flushSync();
    byId(el, 'pane-retry')!.click();
    await settle();
    expect(byId(el, 'pane-error')).toBeNull();
    expect(byId(el, 'conversation-item')?.dataset.conversationId).toBe('c-spike');
  });

  it('the chat pane fails on its own, the list stays', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const bad = { ...group, id: 'c-bad', userIds: undefined } as unknown as ConversationItem;
    app.conversations = [jerry, bad];
    app.selectedId = 'c-bad';
    const el = render(MainScreen, {});
    await settle();
    expect(byId(el, 'pane-error')).not.toBeNull();
    expect(el.querySelectorAll('[data-testid="pane-error"]')).toHaveLength(1);
    expect(byId(el, 'conversation-list')).not.toBeNull();
    expect(error).toHaveBeenCalled();
    app.selectedId = null;
  });

  it('an unhandled rejection or uncaught error becomes a toast', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const stop = installGlobalErrorHandlers(window, (e, context) => app.report(e, context));
    const el = render(Toasts, {});
    const rejection = new Event('unhandledrejection', { cancelable: true });
    Object.defineProperty(rejection, 'reason', { value: { code: 'internal', message: 'the cache is locked' } });
    window.dispatchEvent(rejection);
    window.dispatchEvent(new ErrorEvent('error', { error: new Error('kaput'), message: 'kaput', cancelable: true }));
    flushSync();
    const toasts = [...el.querySelectorAll('[data-testid="toast"]')].map((t) => t.textContent?.trim());
    expect(toasts).toEqual(['Something went wrong on the server. Try again.', 'Something went wrong: kaput']);
    expect(error).toHaveBeenCalledTimes(2);
    stop();
    for (const t of app.toasts) app.dismissToast(t.id);
  });

  it('bad timestamps render without throwing', async () => {
    const el = render(MessageBubble, { message: msg({ timestamp: NaN }), showSender: false });
    const time = el.querySelector('time')!;
    expect(time.hasAttribute('datetime')).toBe(false);
    expect(time.textContent).toBe('');
    app.conversations = [{ ...spike, lastActivity: 1e20 }];
    const list = render(ConversationList, {});
    await settle();
    expect(byId(list, 'conversation-item')).not.toBeNull();
  });
});

describe('avatar colours follow the person', () => {
  const hueIn = (el: Element | null) => Number(/--hue:\s*(\d+)/.exec(el?.querySelector('.avatar')?.getAttribute('style') ?? '')?.[1]);
  const row = (el: HTMLElement, id: string) => el.querySelector(`[data-conversation-id="${id}"]`);

  it('a person has one colour everywhere (their uid); a group has its own (its id)', async () => {
    const el = render(MainScreen, {});
    await settle();
    const jerrysHue = hueOf('u-jerry');
    expect(hueOf('c-jerry'), 'the test needs the two to differ').not.toBe(jerrysHue);
    expect(hueIn(row(el, 'c-jerry'))).toBe(jerrysHue);
    expect(hueIn(row(el, 'c-spike'))).toBe(hueOf('u-spike'));
    expect(hueIn(row(el, 'c-group'))).toBe(hueOf('c-group'));
    await app.select('c-jerry');
    flushSync();
    expect(hueIn(el.querySelector('.chat-header'))).toBe(jerrysHue);
    // The same colour as his name in a group, and as in the blocked users dialog.
    app.blocks.list = [users.jerry];
    app.blockedUsersOpen = true;
    flushSync();
    expect(hueIn(byId(el, 'blocked-user'))).toBe(jerrysHue);
    app.blockedUsersOpen = false;
    app.blocks.list = [];
  });
});

describe('a narrow window: one pane at a time', () => {
  function setWidth(width: number) {
    window.innerWidth = width;
    window.dispatchEvent(new Event('resize'));
    flushSync();
  }
  afterEach(() => setWidth(1024));

  it('wide: the list and the chat side by side, no back button', async () => {
    setWidth(1024);
    const el = render(MainScreen, {});
    await app.select('c-jerry');
    flushSync();
    expect(byId(el, 'conversation-list')).not.toBeNull();
    expect(byId(el, 'chat-title')?.textContent).toBe('Jerry');
    expect(byId(el, 'chat-back')).toBeNull();
  });

  it('below 600 px: the list, or the chat with a back button; back and Esc return to the list', async () => {
    setWidth(480);
    const el = render(MainScreen, {});
    await settle();
    expect(byId(el, 'conversation-list')).not.toBeNull();
    expect(byId(el, 'chat-title')).toBeNull();
    expect(el.textContent).not.toContain('Select a conversation');

    (row(el, 'c-jerry') as HTMLElement).click();
    await settle();
    expect(byId(el, 'conversation-list')).toBeNull();
    expect(byId(el, 'chat-title')?.textContent).toBe('Jerry');
    expect(byId(el, 'composer')).not.toBeNull();
    const back = byId(el, 'chat-back')!;
    expect(back.getAttribute('aria-label')).toBe('Back to conversations');
    back.click();
    await settle();
    expect(app.selectedId).toBeNull();
    expect(byId(el, 'chat-title')).toBeNull();
    expect(document.activeElement?.getAttribute('data-conversation-id')).toBe('c-jerry'); // where the user was

    (row(el, 'c-spike') as HTMLElement).click();
    await settle();
    key(byId(el, 'composer')!, 'Escape');
    await settle();
    expect(app.selectedId).toBeNull();
    expect(byId(el, 'conversation-list')).not.toBeNull();

    // Widening the window shows both again.
    await app.select('c-spike');
    setWidth(900);
    expect(byId(el, 'conversation-list')).not.toBeNull();
    expect(byId(el, 'chat-title')?.textContent).toBe('Spike');
  });

  it('Esc closes an open menu first, and does nothing in a wide window', async () => {
    setWidth(480);
    const el = render(MainScreen, {});
    await app.select('c-jerry');
    flushSync();
    byId(el, 'chat-menu')!.click();
    await settle();
    expect(document.activeElement?.getAttribute('role')).toBe('menuitem');
    key(document.activeElement!, 'Escape');
    await settle();
    expect(app.selectedId).toBe('c-jerry');
    setWidth(1024);
    key(byId(el, 'composer')!, 'Escape');
    await settle();
    expect(app.selectedId).toBe('c-jerry');
  });

  function row(el: HTMLElement, id: string) {
    return el.querySelector(`[data-conversation-id="${id}"]`);
  }
});
