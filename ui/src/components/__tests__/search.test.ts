// @vitest-environment happy-dom
// The message search panel (Ctrl+F) on the main screen, against the mock backend: typing searches
// once typing pauses (a spinner meanwhile), hits grouped by conversation with the terms marked,
// ↑ / ↓ / Enter, a hit opening its conversation at the message (older pages loaded, the view
// scrolled there and left there, the message flashing), Esc or the close button back to the list
// with the focus where it was; the hint, "no messages" and failure states; text never as HTML.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { Backend } from '../../lib/api';
import { createMockBackend, type MockBackend } from '../../lib/mock';
import { byId, render, settle, showMain, type, unmountAll } from './dom';
import { layOutScroller, settleLayout } from './layout';

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  return { ...real, uiReady: async () => null };
});

const api = await import('../../lib/api');
const { app } = await import('../../lib/store.svelte');
const { SEARCH_DEBOUNCE_MS } = await import('../../lib/stores/search.svelte');
const { JUMP_FLASH_MS } = await import('../../lib/stores/threads.svelte');
const MainScreen = (await import('../MainScreen.svelte')).default;

let mock: MockBackend;
/** The next search_messages fail with this (once each). */
let failures: { code: string; message: string }[] = [];
let restoreLayout: () => void;

beforeEach(async () => {
  restoreLayout = layOutScroller();
  let clock = Date.now() - 400 * 60_000;
  mock = createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history: 300,
    deliver: () => {},
    now: () => (clock += 1000),
  });
  await mock.invoke('restore_session');
  failures = [];
  const backend: Backend = {
    invoke: (cmd, args) => {
      const failure = cmd === 'search_messages' ? failures.shift() : undefined;
      return failure ? Promise.reject(failure) : mock.invoke(cmd, args);
    },
    listen: (h) => mock.listen(h),
  };
  api.useBackend(backend);
  showMain(app, mock.control.items());
  vi.spyOn(document, 'hasFocus').mockReturnValue(true);
});
afterEach(() => {
  unmountAll();
  app.quickSwitcherOpen = false;
  app.search.close();
  app.jumpTarget = null;
  app.threadStore.reset();
  for (const x of app.toasts) app.dismissToast(x.id);
  restoreLayout();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function press(target: EventTarget, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  flushSync();
  return e;
}
const pause = async () => {
  await new Promise((r) => setTimeout(r, SEARCH_DEBOUNCE_MS + 30));
  await settle();
};
const input = (el: HTMLElement) => byId(el, 'search-input') as HTMLInputElement;
const status = (el: HTMLElement) => byId(el, 'search-status')?.textContent?.trim();
const hits = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="search-hit"]')];
const groups = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="search-group"]')];
const active = (el: HTMLElement) => document.getElementById(input(el).getAttribute('aria-activedescendant') ?? '');
const marks = (hit: HTMLElement) => [...hit.querySelectorAll('mark')].map((m) => m.textContent);
const scroller = (el: HTMLElement) => byId(el, 'message-list')!;
const distanceToBottom = (s: HTMLElement) => s.scrollHeight - s.clientHeight - s.scrollTop;

async function openSearch(el: HTMLElement) {
  const e = press(document.activeElement ?? document.body, 'f', { ctrlKey: true });
  await settle();
  expect(e.defaultPrevented).toBe(true);
  expect(document.activeElement).toBe(input(el));
}

describe('the message search', () => {
  it('Ctrl+F opens it over the list (the list inert beneath); Esc closes it and the focus goes back', async () => {
    const el = render(MainScreen, {});
    await settle();
    const opener = byId(el, 'new-chat')!;
    opener.focus();
    await openSearch(el);
    expect(byId(el, 'search-panel')).not.toBeNull();
    expect(byId(el, 'quick-switcher')).toBeNull(); // Ctrl+F is no longer the quick switcher
    expect(status(el)).toBe('Search messages on this device');
    expect(input(el).getAttribute('role')).toBe('combobox');
    expect(document.querySelector(`label[for="${input(el).id}"]`)?.textContent).toBe('Search messages');
    expect(byId(el, 'conversation-list')!.closest('[inert]')).not.toBeNull();

    press(input(el), 'Escape');
    await settle();
    expect(byId(el, 'search-panel')).toBeNull();
    expect(byId(el, 'conversation-list')!.closest('[inert]')).toBeNull();
    expect(document.activeElement).toBe(opener);
    expect(app.search.query).toBe('');
  });

  it('the search button opens it; the close button closes it, the focus back on the button; Ctrl+K is still the quick switcher', async () => {
    const el = render(MainScreen, {});
    await settle();
    const button = byId(el, 'search-open')!;
    expect(button.getAttribute('aria-label')).toBe('Search messages (Ctrl+F)');
    expect(button.getAttribute('aria-keyshortcuts')).toBe('Control+F');
    button.focus();
    button.click();
    await settle();
    expect(document.activeElement).toBe(input(el));
    byId(el, 'search-close')!.click();
    await settle();
    expect(byId(el, 'search-panel')).toBeNull();
    expect(document.activeElement).toBe(button);

    press(document.body, 'k', { ctrlKey: true });
    await settle();
    expect(byId(el, 'quick-switcher')).not.toBeNull();
  });

  it('typing searches once it pauses (a spinner meanwhile): hits grouped by conversation, newest group first, every term marked', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), 'W');
    type(input(el), 'WI');
    type(input(el), 'WILL');
    expect(byId(el, 'search-spinner')).not.toBeNull();
    expect(status(el)).toBe('Searching…');
    await pause();
    expect(byId(el, 'search-spinner')).toBeNull();

    const g = groups(el);
    expect(g.map((x) => x.dataset.conversationId)).toEqual(['c-jerry', 'c-group']);
    expect(g.map((x) => byId(x, 'search-group-title')?.textContent)).toEqual(['Jerry', 'Cat & Mouse Club']);
    const jerryHits = g[0].querySelectorAll('[data-testid="search-hit"]');
    expect(byId(g[0], 'search-group-count')?.textContent).toBe(String(jerryHits.length));
    expect(g[0].getAttribute('role')).toBe('group');
    expect(g[0].getAttribute('aria-label')).toBe(`Jerry: ${jerryHits.length} found`);
    expect(byId(g[1], 'search-group-count')?.textContent).toBe('1');
    expect(status(el)).toBe(`Messages found: ${hits(el).length}`);

    const first = hits(el)[0];
    expect(first.dataset.conversationId).toBe('c-jerry');
    expect(first.getAttribute('role')).toBe('option');
    expect(byId(first, 'search-hit-text')?.textContent).toMatch(/^I will find it\. \(#\d+\)$/);
    expect(marks(first)).toEqual(['will']);
    const firstMessage = mock.control.messages('c-jerry').find((m) => m.seq === Number(first.dataset.seq))!;
    expect(byId(first, 'search-hit-sender')?.textContent).toBe(firstMessage.own ? 'You' : 'Jerry');
    expect(first.querySelector('time')?.getAttribute('datetime')).toBeTruthy();
    const snacks = hits(el).find((h) => h.dataset.conversationId === 'c-group')!;
    expect(byId(snacks, 'search-hit-sender')?.textContent).toBe('Jerry');
    expect(byId(snacks, 'search-hit-text')?.textContent).toBe('I will bring snacks.');
    // The newest first within a group.
    const seqs = [...jerryHits].map((h) => Number((h as HTMLElement).dataset.seq));
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));

    // Two terms, in Chinese, without spaces in the text.
    type(input(el), '吃什么 你好');
    await pause();
    expect(hits(el).length).toBeGreaterThan(0);
    expect(marks(hits(el)[0])).toEqual(['你好', '吃什么']);
  });

  it('↑ / ↓ move across the groups (wrapping); Enter opens the conversation at the message, far up: it flashes, the view stays there', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), 'will (#4)'); // "I will find it. (#4)": the fourth message of 301
    await pause();
    expect(hits(el).map((h) => [h.dataset.conversationId, h.dataset.seq])).toEqual([['c-jerry', '4']]);
    type(input(el), 'will');
    await pause();
    const all = hits(el);
    expect(active(el)).toBe(all[0]);
    press(input(el), 'ArrowDown');
    expect(active(el)).toBe(all[1]);
    expect(all[1].getAttribute('aria-selected')).toBe('true');
    press(input(el), 'ArrowUp');
    press(input(el), 'ArrowUp');
    expect(active(el)).toBe(all[all.length - 1]); // wrapped to the last (the group chat's)
    expect(active(el)?.dataset.conversationId).toBe('c-group');
    press(input(el), 'ArrowUp');
    const oldest = active(el)!;
    expect(oldest.dataset.seq).toBe('4'); // the Jerry group's oldest hit
    expect(byId(oldest, 'search-hit-sender')?.textContent).toBe('You'); // (Tom wrote it)

    press(input(el), 'Enter');
    await settleLayout();
    expect(app.selectedId).toBe('c-jerry');
    expect(byId(el, 'chat-title')?.textContent).toBe('Jerry');
    const flashed = el.querySelector<HTMLElement>('[data-testid="message"][data-highlighted="true"]');
    expect(flashed?.dataset.seq).toBe('4');
    expect(byId(flashed!, 'message-text')?.textContent).toBe('I will find it. (#4)');
    expect(el.querySelectorAll('[data-highlighted="true"]')).toHaveLength(1);
    const s = scroller(el);
    expect(distanceToBottom(s), 'not snapped back to the bottom').toBeGreaterThan(1000);
    expect(byId(el, 'jump-to-bottom')).not.toBeNull();
    // The search stays, for the next hit, with the focus in it.
    expect(byId(el, 'search-panel')).not.toBeNull();
    expect(document.activeElement).toBe(input(el));

    // Esc: back to the list, the open conversation's row has the focus (Ctrl+F came from nowhere).
    press(input(el), 'Escape');
    await settle();
    expect(byId(el, 'search-panel')).toBeNull();
    expect((document.activeElement as HTMLElement).dataset.conversationId).toBe('c-jerry');

    // The flash fades; the ↓ button goes back to the newest.
    await new Promise((r) => setTimeout(r, JUMP_FLASH_MS));
    await settle();
    expect(el.querySelector('[data-highlighted="true"]')).toBeNull();
    byId(el, 'jump-to-bottom')!.click();
    await settleLayout();
    expect(distanceToBottom(s)).toBeLessThanOrEqual(48);
    expect(byId(el, 'jump-to-bottom')).toBeNull();
  }, 20_000);

  it('a click opens a hit too (the focus stays in the box)', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), 'snacks');
    await pause();
    const [hit] = hits(el);
    const down = new MouseEvent('mousedown', { bubbles: true, cancelable: true });
    hit.dispatchEvent(down);
    expect(down.defaultPrevented).toBe(true);
    hit.click();
    await settleLayout();
    expect(app.selectedId).toBe('c-group');
    expect(el.querySelector<HTMLElement>('[data-highlighted="true"]')?.dataset.seq).toBe(hit.dataset.seq);
    expect(document.activeElement).toBe(input(el));
  });

  it('no hits: “No messages with “…””; a blank query: the hint again', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), 'brie camembert');
    await pause();
    expect(hits(el)).toHaveLength(0);
    expect(status(el)).toBe('No messages with “brie camembert”');
    expect(byId(el, 'search-results')!.hidden).toBe(true);
    expect(input(el).getAttribute('aria-expanded')).toBe('false');
    type(input(el), '   ');
    await settle();
    expect(status(el)).toBe('Search messages on this device');
  });

  it('a failure shows inline, with Try again', async () => {
    failures = [{ code: 'not_signed_in', message: 'not signed in' }];
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), 'cheese');
    await pause();
    const error = byId(el, 'search-error')!;
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.dataset.code).toBe('not_signed_in');
    expect(error.textContent).toContain('The search failed.');
    expect(error.textContent).toContain('You are not signed in. Sign in first.');
    byId(el, 'search-retry')!.click();
    await settle();
    expect(byId(el, 'search-error')).toBeNull();
    expect(hits(el).length).toBeGreaterThan(0);
  });

  it('shows a message’s text as text, never as HTML', async () => {
    mock.control.incoming('c-spike', 'u-spike', '<img src=x onerror="window.pwned=1"> & <b>bold</b> cheese');
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), '<b>');
    await pause();
    const [hit] = hits(el);
    expect(byId(hit, 'search-hit-text')?.textContent).toBe('<img src=x onerror="window.pwned=1"> & <b>bold</b> cheese');
    expect(marks(hit)).toEqual(['<b>']);
    expect(byId(el, 'search-panel')!.querySelector('img, b')).toBeNull();
  });

  it('Ctrl+F again, in the box, selects what was typed', async () => {
    const el = render(MainScreen, {});
    await settle();
    await openSearch(el);
    type(input(el), 'cheese');
    await pause();
    input(el).setSelectionRange(6, 6);
    press(input(el), 'f', { ctrlKey: true });
    await settle();
    expect(input(el).selectionStart).toBe(0);
    expect(input(el).selectionEnd).toBe(6);
  });
  it('a narrow window: a hit replaces the list with the chat; back, the search is still there with its hits', async () => {
    const setWidth = (width: number) => {
      window.innerWidth = width;
      window.dispatchEvent(new Event('resize'));
      flushSync();
    };
    setWidth(480);
    try {
      const el = render(MainScreen, {});
      await settle();
      await openSearch(el);
      type(input(el), 'snacks');
      await pause();
      press(input(el), 'Enter');
      await settleLayout();
      expect(byId(el, 'search-panel')).toBeNull();
      expect(byId(el, 'chat-title')?.textContent).toBe('Cat & Mouse Club');
      expect(el.querySelector('[data-highlighted="true"]')).not.toBeNull();
      expect(document.activeElement).toBe(byId(el, 'composer'));
      byId(el, 'chat-back')!.click();
      await settle();
      expect(byId(el, 'search-panel')).not.toBeNull();
      expect(input(el).value).toBe('snacks');
      expect(hits(el)).toHaveLength(1);
      // Ctrl+F from a chat: back to the list, in the search box.
      await app.select('c-jerry');
      await settle();
      expect(byId(el, 'search-panel')).toBeNull();
      press(document.body, 'f', { ctrlKey: true });
      await settle();
      expect(app.selectedId).toBeNull();
      expect(document.activeElement).toBe(input(el));
    } finally {
      setWidth(1024);
    }
  });
});
