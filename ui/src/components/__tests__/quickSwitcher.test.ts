// @vitest-environment happy-dom
// The keyboard: the quick switcher (Ctrl+K), the main screen's shortcuts (Alt+↑ / Alt+↓, Esc,
// Ctrl+F, Ctrl+K), the conversation list's arrow keys, and Esc for a dialog whose focus went away.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { ConversationItem, UserInfo } from '../../lib/api';
import { conv, msg } from '../../lib/__tests__/fixtures';
import { byId, render, settle, showMain, stubResizeObserver, type, unmountAll } from './dom';

const people: Record<string, UserInfo> = {
  jerry: { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' },
  spike: { uid: 'u-spike', username: 'spike', displayName: 'Spike' },
  tyke: { uid: 'u-tyke', username: 'tyke', displayName: 'Tyke' },
};

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: ok,
    findUser: vi.fn(),
    createConversation: vi.fn(),
    loadMessages: async (a: { conversationId: string }) => ({ messages: [msg({ conversationId: a.conversationId })], hasMore: false }),
    listConversations: vi.fn(async () => []),
  };
});

const api = await import('../../lib/api');
const { app } = await import('../../lib/store.svelte');
const { SWITCHER_LOOKUP_DELAY_MS } = await import('../../lib/quickSwitcher');
const MainScreen = (await import('../MainScreen.svelte')).default;

const findUser = vi.mocked(api.findUser);
const createConversation = vi.mocked(api.createConversation);
const listConversations = vi.mocked(api.listConversations);

const jerry = conv({ id: 'c-jerry', displayTitle: 'Jerry', peer: people.jerry, lastActivity: 50 });
const rats = conv({ id: 'c-rats', type: 'GROUP_CHAT', title: '耗子的群', displayTitle: '耗子的群', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 40 });
const club = conv({ id: 'c-club', type: 'GROUP_CHAT', title: 'Cat & Mouse Club', displayTitle: 'Cat & Mouse Club', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 30 });
const clubbers = conv({ id: 'c-clubbers', type: 'GROUP_CHAT', title: 'Clubbers', displayTitle: 'Clubbers', userIds: ['u-tom', 'u-a', 'u-b'], lastActivity: 20 });
const all = [jerry, rats, club, clubbers];

beforeEach(() => {
  stubResizeObserver(['conversation-list', 'message-list']);
  showMain(app, all);
  app.quickSwitcherOpen = false;
  app.newChatOpen = false;
  findUser.mockReset();
  findUser.mockImplementation(async (a: { username: string }) => people[a.username] ?? null);
  createConversation.mockReset();
  listConversations.mockClear();
});
afterEach(() => {
  unmountAll();
  app.search.close();
  vi.unstubAllGlobals();
  app.threadStore.reset();
  for (const t of app.toasts) app.dismissToast(t.id);
});

/** A keydown on `target` (bubbling, cancelable); returns the event. */
function press(target: EventTarget, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  flushSync();
  return e;
}
const pause = async () => {
  await new Promise((r) => setTimeout(r, SWITCHER_LOOKUP_DELAY_MS + 30));
  await settle();
};
const input = (el: HTMLElement) => byId(el, 'quick-switcher-input') as HTMLInputElement;
const options = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="quick-switcher-option"]')];
const shown = (el: HTMLElement) => options(el).map((o) => o.dataset.conversationId ?? `@${o.dataset.uid}`);
const active = (el: HTMLElement) => document.getElementById(input(el).getAttribute('aria-activedescendant') ?? '');

async function openSwitcher(el: HTMLElement, from: Element = document.body) {
  press(from, 'k', { ctrlKey: true });
  await settle();
  expect(byId(el, 'quick-switcher')).not.toBeNull();
}

describe('the quick switcher', () => {
  it('Ctrl+K opens it: a combobox with its listbox, the first option active, the keys explained; Esc closes and the focus goes back', async () => {
    const el = render(MainScreen, {});
    await settle();
    const opener = byId(el, 'new-chat')!;
    opener.focus();
    const e = press(opener, 'k', { ctrlKey: true });
    await settle();
    expect(e.defaultPrevented).toBe(true);
    const box = input(el);
    expect(document.activeElement).toBe(box);
    expect(box.getAttribute('role')).toBe('combobox');
    expect(box.getAttribute('aria-expanded')).toBe('true');
    expect(box.getAttribute('aria-autocomplete')).toBe('list');
    expect(document.querySelector(`label[for="${box.id}"]`)?.textContent).toBe('Conversation or @username');
    const listbox = document.getElementById(box.getAttribute('aria-controls')!)!;
    expect(listbox.getAttribute('role')).toBe('listbox');
    expect(shown(el)).toEqual(['c-jerry', 'c-rats', 'c-club', 'c-clubbers']); // the list's order
    expect(options(el).every((o) => o.getAttribute('role') === 'option' && o.tabIndex < 0)).toBe(true);
    expect(active(el)).toBe(options(el)[0]);
    expect(options(el).map((o) => o.getAttribute('aria-selected'))).toEqual(['true', 'false', 'false', 'false']);
    expect(byId(el, 'quick-switcher-hint')?.textContent).toBe('↑↓ to move, Enter to open, Esc to close');
    expect(document.getElementById(box.getAttribute('aria-describedby')!)).toBe(byId(el, 'quick-switcher-hint'));
    const dialog = byId(el, 'quick-switcher')!;
    expect(dialog.getAttribute('aria-modal')).toBe('true');
    expect(document.getElementById(dialog.getAttribute('aria-labelledby')!)?.textContent).toBe('Go to a conversation');

    press(box, 'Escape');
    await settle();
    expect(byId(el, 'quick-switcher')).toBeNull();
    expect(app.quickSwitcherOpen).toBe(false);
    expect(document.activeElement).toBe(opener);
    expect(app.selectedId).toBeNull();
  });

  it('the Search button opens it too, and says its shortcut', async () => {
    const el = render(MainScreen, {});
    await settle();
    const button = byId(el, 'quick-switcher-open')!;
    expect(button.getAttribute('aria-keyshortcuts')).toBe('Control+K');
    expect(button.getAttribute('aria-label')).toBe('Search conversations and people (Ctrl+K)');
    button.click();
    await settle();
    expect(document.activeElement).toBe(input(el));
  });

  it('finds Chinese substrings: “耗子” → “耗子的群”; Enter opens it, with the focus in its composer', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), '耗子');
    expect(shown(el)).toEqual(['c-rats']);
    press(input(el), 'Enter');
    await settle();
    expect(app.selectedId).toBe('c-rats');
    expect(byId(el, 'quick-switcher')).toBeNull();
    expect(byId(el, 'chat-title')?.textContent).toBe('耗子的群');
    expect(document.activeElement).toBe(byId(el, 'composer'));
  });

  it('best matches first (a prefix before a word start), case-insensitive; ↓ / ↑ move (and wrap), a click opens', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), 'CLUB');
    expect(shown(el)).toEqual(['c-clubbers', 'c-club']);
    press(input(el), 'ArrowDown');
    expect(active(el)?.dataset.conversationId).toBe('c-club');
    expect(active(el)?.getAttribute('aria-selected')).toBe('true');
    press(input(el), 'ArrowDown');
    expect(active(el)?.dataset.conversationId).toBe('c-clubbers');
    press(input(el), 'ArrowUp');
    expect(active(el)?.dataset.conversationId).toBe('c-club');
    expect(document.activeElement).toBe(input(el)); // the focus never leaves the box
    type(input(el), 'clubb');
    expect(active(el)?.dataset.conversationId).toBe('c-clubbers'); // a new query starts at the top
    type(input(el), 'club');
    options(el)[1].click();
    await settle();
    expect(app.selectedId).toBe('c-club');
    expect(byId(el, 'quick-switcher')).toBeNull();
  });

  it('keys of an input method composing (Chinese input) are not the list’s: Enter does not open, ↓ does not move', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), 'c');
    const first = active(el);
    press(input(el), 'ArrowDown', { isComposing: true });
    expect(active(el)).toBe(first);
    press(input(el), 'Enter', { isComposing: true });
    press(input(el), 'Escape', { isComposing: true });
    await settle();
    expect(app.selectedId).toBeNull();
    expect(byId(el, 'quick-switcher')).not.toBeNull();
  });

  it('offers "Start a chat with @spike" (find_user, once typing pauses); Enter opens the 1:1 chat as New chat does', async () => {
    const spikeChat = conv({ id: 'c-spike', displayTitle: 'Spike', peer: people.spike, lastActivity: 60 });
    createConversation.mockResolvedValue(spikeChat);
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), 's');
    type(input(el), 'sp');
    type(input(el), '@Spike');
    await settle();
    expect(findUser).not.toHaveBeenCalled(); // not at every key
    expect(byId(el, 'quick-switcher-status')?.textContent?.trim()).toBe('Looking for @spike…');
    await pause();
    expect(findUser).toHaveBeenCalledTimes(1);
    expect(findUser).toHaveBeenCalledWith({ username: 'spike' });
    expect(shown(el)).toEqual(['@u-spike']);
    const option = options(el)[0];
    expect(option.dataset.kind).toBe('person');
    expect(option.textContent).toContain('Start a chat with @spike');
    expect(active(el)).toBe(option);
    press(input(el), 'Enter');
    await settle();
    expect(createConversation).toHaveBeenCalledWith({ userIds: ['u-spike'], title: '', unique: true });
    expect(app.selectedId).toBe('c-spike');
    expect(byId(el, 'quick-switcher')).toBeNull();
    expect(document.activeElement).toBe(byId(el, 'composer'));
  });

  it('no "Start a chat" with someone a loaded conversation is with (not even asked), nor with oneself, nor nobody', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), 'jerry');
    await pause();
    expect(findUser).not.toHaveBeenCalled();
    expect(shown(el)).toEqual(['c-jerry']);
    type(input(el), 'tom'); // me
    await pause();
    expect(shown(el)).toEqual([]);
    type(input(el), 'nobody');
    await pause();
    expect(findUser).toHaveBeenCalledWith({ username: 'nobody' });
    expect(shown(el)).toEqual([]);
    expect(byId(el, 'quick-switcher-status')?.textContent?.trim()).toBe('No conversation matches.');
    expect(input(el).getAttribute('aria-expanded')).toBe('false');
    expect(input(el).hasAttribute('aria-activedescendant')).toBe(false);
  });

  it('ignores an answer to an older question, even for the same name typed again', async () => {
    const answers: { username: string; resolve: (u: UserInfo | null) => void }[] = [];
    findUser.mockImplementation((a: { username: string }) => new Promise((resolve) => answers.push({ username: a.username, resolve })));
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), 'tyke');
    await pause();
    type(input(el), 'tykes');
    await pause();
    type(input(el), 'tyke');
    await pause();
    expect(answers.map((a) => a.username)).toEqual(['tyke', 'tykes', 'tyke']);
    answers[1].resolve(null);
    await settle();
    answers[0].resolve({ uid: 'u-old', username: 'tyke', displayName: 'Stale Tyke' });
    await settle();
    expect(shown(el)).toEqual([]); // the first answer came too late
    answers[2].resolve(people.tyke);
    await settle();
    expect(shown(el)).toEqual(['@u-tyke']);
  });

  it('a chat refused because of a block says so in the switcher, which stays open', async () => {
    createConversation.mockRejectedValue({ code: 'blocked', message: 'one of you has blocked the other' });
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    type(input(el), 'spike');
    await pause();
    press(input(el), 'Enter');
    await settle();
    const error = byId(el, 'quick-switcher-error')!;
    expect(error.hidden).toBe(false);
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toBe('You cannot start a chat with @spike: one of you has blocked the other.');
    expect(byId(el, 'quick-switcher')).not.toBeNull();
    expect(document.activeElement).toBe(input(el));
    expect(app.selectedId).toBeNull();
  });

  it('keeps Tab inside; Ctrl+K again closes it; not opened over another dialog', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSwitcher(el);
    press(input(el), 'Tab');
    expect(document.activeElement).toBe(input(el));
    press(input(el), 'Tab', { shiftKey: true });
    expect(document.activeElement).toBe(input(el));
    press(input(el), 'k', { ctrlKey: true });
    await settle();
    expect(byId(el, 'quick-switcher')).toBeNull();

    byId(el, 'new-chat')!.click();
    await settle();
    const e = press(document.activeElement!, 'k', { ctrlKey: true });
    await settle();
    expect(e.defaultPrevented).toBe(true);
    expect(byId(el, 'quick-switcher')).toBeNull();
    expect(byId(el, 'new-chat-dialog')).not.toBeNull();
  });
});

describe('shortcuts of the main screen', () => {
  it('Alt+↓ / Alt+↑ open the next / previous conversation in the list order (none open: the first; no wrapping)', async () => {
    const el = render(MainScreen, {});
    await settle();
    const e = press(document.body, 'ArrowDown', { altKey: true });
    await settle();
    expect(e.defaultPrevented).toBe(true);
    expect(app.selectedId).toBe('c-jerry');
    expect(document.activeElement).toBe(byId(el, 'composer'));
    press(document.activeElement!, 'ArrowDown', { altKey: true }); // from the composer too
    await settle();
    expect(app.selectedId).toBe('c-rats');
    press(document.activeElement!, 'ArrowDown', { altKey: true });
    await settle();
    expect(app.selectedId).toBe('c-club');
    press(document.activeElement!, 'ArrowUp', { altKey: true });
    await settle();
    expect(app.selectedId).toBe('c-rats');
    press(document.activeElement!, 'ArrowUp', { altKey: true });
    press(document.activeElement!, 'ArrowUp', { altKey: true });
    await settle();
    expect(app.selectedId).toBe('c-jerry');
    // Not while an input method composes, nor with a dialog open.
    press(document.activeElement!, 'ArrowDown', { altKey: true, isComposing: true });
    await settle();
    expect(app.selectedId).toBe('c-jerry');
    app.newChatOpen = true;
    flushSync();
    press(document.body, 'ArrowDown', { altKey: true });
    await settle();
    expect(app.selectedId).toBe('c-jerry');
    app.newChatOpen = false;
  });

  it('Alt+↓ past the last loaded conversation loads the next page first', async () => {
    const older: ConversationItem = conv({ id: 'c-older', displayTitle: 'Older', peer: { uid: 'u-o', username: 'older', displayName: 'Older' }, lastActivity: 1 });
    listConversations.mockResolvedValueOnce([older]);
    app.conversationsComplete = false;
    app.ready = true;
    app.selectedId = 'c-clubbers';
    render(MainScreen, {});
    await settle();
    press(document.body, 'ArrowDown', { altKey: true });
    await settle();
    expect(listConversations).toHaveBeenCalled();
    expect(app.selectedId).toBe('c-older');
    app.ready = false;
  });

  it('Esc in a chat brings the focus back to the composer (a wide window keeps the chat open)', async () => {
    const el = render(MainScreen, {});
    await settle();
    await app.select('c-jerry');
    await settle();
    const log = byId(el, 'message-list')!;
    expect(log.tabIndex).toBe(0); // it scrolls: Tab reaches it
    log.focus();
    const e = press(log, 'Escape');
    expect(e.defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(byId(el, 'composer'));
    expect(app.selectedId).toBe('c-jerry');
  });

  it('Esc closes the topmost dialog also when the focus is no longer in it', async () => {
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'new-chat')!.click();
    await settle();
    (document.activeElement as HTMLElement).blur();
    expect(document.activeElement).toBe(document.body);
    press(document.body, 'Escape');
    await settle();
    expect(byId(el, 'new-chat-dialog')).toBeNull();
    expect(app.newChatOpen).toBe(false);
  });

  it('Ctrl+F: the message search, not the quick switcher; not over a dialog', async () => {
    const el = render(MainScreen, {});
    await settle();
    const e = press(document.body, 'f', { ctrlKey: true });
    await settle();
    expect(e.defaultPrevented).toBe(true);
    expect(byId(el, 'quick-switcher')).toBeNull();
    expect(document.activeElement).toBe(byId(el, 'search-input'));
    press(document.activeElement!, 'Escape');
    await settle();
    expect(byId(el, 'search-panel')).toBeNull();

    await openSwitcher(el);
    const inDialog = press(input(el), 'f', { ctrlKey: true });
    await settle();
    expect(inDialog.defaultPrevented).toBe(true);
    expect(byId(el, 'search-panel')).toBeNull();
    expect(byId(el, 'quick-switcher')).not.toBeNull();
  });
});

describe('the conversation list and the keyboard', () => {
  const rows = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="conversation-item"]')];

  it('one Tab stop (the first row, else the open or focused one); ↑ / ↓ / Home / End move between the rows', async () => {
    const el = render(MainScreen, {});
    await settle();
    expect(rows(el).map((r) => r.tabIndex)).toEqual([0, -1, -1, -1]);
    rows(el)[0].focus();
    press(rows(el)[0], 'ArrowDown');
    await settle();
    expect(document.activeElement?.getAttribute('data-conversation-id')).toBe('c-rats');
    expect(rows(el).map((r) => r.tabIndex)).toEqual([-1, 0, -1, -1]);
    press(document.activeElement!, 'End');
    await settle();
    expect(document.activeElement?.getAttribute('data-conversation-id')).toBe('c-clubbers');
    press(document.activeElement!, 'ArrowDown'); // the end: stays
    await settle();
    expect(document.activeElement?.getAttribute('data-conversation-id')).toBe('c-clubbers');
    press(document.activeElement!, 'Home');
    await settle();
    expect(document.activeElement?.getAttribute('data-conversation-id')).toBe('c-jerry');
    press(document.activeElement!, 'ArrowUp');
    await settle();
    expect(document.activeElement?.getAttribute('data-conversation-id')).toBe('c-jerry');
    expect(app.selectedId).toBeNull(); // moving is not opening
    (document.activeElement as HTMLElement).click();
    await settle();
    expect(app.selectedId).toBe('c-jerry');
    (document.activeElement as HTMLElement).blur();
    flushSync();
    expect(rows(el).find((r) => r.tabIndex === 0)?.dataset.conversationId).toBe('c-jerry');
  });
});
