// @vitest-environment happy-dom
// A message's actions in the chat, on the main screen, against the mock backend: the menu opens by
// a right-click and from the keyboard (the ⋯ button: Enter or ↓, arrows, Esc gives the focus back);
// Edit puts the composer in edit mode (its banner, Esc, ↑ in an empty composer) and Enter saves
// ("edited" shows); Recall asks first, then the recall line (with Re-edit); Delete for me asks,
// then the message goes; Reply quotes it in the composer, the message sent shows the quote, and a
// click on a quote goes to the original (flashing). The conversation list says who recalled the
// last message.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { ImEvent, UiMessage } from '../../lib/api';
import { createMockBackend, type MockBackend } from '../../lib/mock';
import { byId, render, settle, showMain, type, unmountAll } from './dom';
import { layOutScroller, settleLayout } from './layout';

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  return { ...real, uiReady: async () => null };
});

const api = await import('../../lib/api');
const { app } = await import('../../lib/store.svelte');
const MainScreen = (await import('../MainScreen.svelte')).default;

let mock: MockBackend;
let restoreLayout: () => void;

beforeEach(async () => {
  restoreLayout = layOutScroller();
  // (The real clock: the edit and recall windows are the UI's too.)
  mock = createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history: 12,
    deliver: (fire) => setTimeout(fire, 0),
  });
  await mock.invoke('restore_session');
  api.useBackend(mock);
  // The app's event handler (the main screen does not subscribe by itself).
  await mock.listen((e: ImEvent) => (app as unknown as { onEvent(e: ImEvent): void }).onEvent(e));
  showMain(app, mock.control.items());
  vi.spyOn(document, 'hasFocus').mockReturnValue(true);
  vi.stubGlobal('navigator', { ...navigator, clipboard: { writeText: vi.fn(async () => undefined) } });
});
afterEach(() => {
  unmountAll();
  app.messageRequest = null;
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
const rows = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="message"]')];
const row = (el: HTMLElement, m: Pick<UiMessage, 'clientId'>) =>
  el.querySelector<HTMLElement>(`[data-testid="message"][data-client-id="${m.clientId}"]`)!;
const menuItems = (el: HTMLElement) =>
  [...el.querySelectorAll<HTMLElement>('[data-testid="message-menu"] [role="menuitem"]')].map((x) => x.dataset.testid);
const composer = (el: HTMLElement) => byId(el, 'composer') as HTMLTextAreaElement;
const messages = () => app.currentThread!.messages;

/** The main screen with the chat with Jerry open (its newest messages shown). */
async function openJerry() {
  const el = render(MainScreen, {});
  await settle();
  await app.select('c-jerry');
  await settleLayout();
  expect(rows(el).length).toBeGreaterThan(3);
  return el;
}

function rightClick(target: HTMLElement) {
  const e = new MouseEvent('contextmenu', { bubbles: true, cancelable: true, clientX: 120, clientY: 200 });
  target.dispatchEvent(e);
  flushSync();
  return e;
}

describe('the actions menu', () => {
  it('opens on a right-click with what the message allows; Esc closes it', async () => {
    const el = await openJerry();
    const mine = messages().filter((m) => m.own && m.seq !== null).slice(-1)[0]!;
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    const e = rightClick(row(el, mine).querySelector('[data-testid="message-text"]')!);
    await settle();
    expect(e.defaultPrevented).toBe(true);
    expect(menuItems(el)).toEqual(['message-action-reply', 'message-action-copy', 'message-action-edit', 'message-action-recall', 'message-action-delete']);
    const menu = byId(el, 'message-menu')!;
    expect(menu.getAttribute('role')).toBe('menu');
    expect(menu.style.left).toBe('120px');
    expect(document.activeElement).toBe(byId(menu, 'message-action-reply'));
    press(document.activeElement!, 'Escape');
    await settle();
    expect(byId(el, 'message-menu')).toBeNull();

    rightClick(row(el, theirs));
    await settle();
    expect(menuItems(el)).toEqual(['message-action-reply', 'message-action-copy', 'message-action-delete']);
    // A click outside closes it.
    document.body.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true }));
    await settle();
    expect(byId(el, 'message-menu')).toBeNull();
  });

  it('from the keyboard: the ⋯ button (Enter, or ↓), the arrows move, Esc closes and the focus goes back to the button', async () => {
    const el = await openJerry();
    const mine = messages().filter((m) => m.own && m.seq !== null).slice(-1)[0]!;
    const button = byId(row(el, mine), 'message-actions') as HTMLButtonElement;
    expect(button.getAttribute('aria-haspopup')).toBe('menu');
    expect(button.getAttribute('aria-label')).toBe('Message actions');
    button.focus();
    button.click(); // (Enter or Space on a button)
    await settle();
    expect(button.getAttribute('aria-expanded')).toBe('true');
    expect(document.activeElement?.getAttribute('data-testid')).toBe('message-action-reply');
    press(document.activeElement!, 'ArrowDown');
    expect(document.activeElement?.getAttribute('data-testid')).toBe('message-action-copy');
    press(document.activeElement!, 'End');
    expect(document.activeElement?.getAttribute('data-testid')).toBe('message-action-delete');
    press(document.activeElement!, 'ArrowDown'); // (around: the quick reactions' row, on top)
    expect(document.activeElement?.getAttribute('data-testid')).toBe('message-react');
    expect(document.activeElement?.getAttribute('data-emoji')).toBe('👍');
    press(document.activeElement!, 'ArrowRight'); // (along the row)
    expect(document.activeElement?.getAttribute('data-emoji')).toBe('❤️');
    press(document.activeElement!, 'ArrowDown');
    expect(document.activeElement?.getAttribute('data-testid')).toBe('message-action-reply');
    press(document.activeElement!, 'ArrowUp'); // (back to the row, where it was)
    expect(document.activeElement?.getAttribute('data-emoji')).toBe('❤️');
    press(document.activeElement!, 'ArrowDown');
    const esc = press(document.activeElement!, 'Escape');
    await settle();
    expect(esc.defaultPrevented).toBe(true);
    expect(byId(el, 'message-menu')).toBeNull();
    expect(document.activeElement).toBe(button);
    expect(app.selectedId).toBe('c-jerry'); // (the window's Esc did nothing else)

    press(button, 'ArrowDown');
    await settle();
    expect(byId(el, 'message-menu')).not.toBeNull();
    // Copy text: to the clipboard; the focus back on the button.
    press(document.activeElement!, 'ArrowDown');
    (document.activeElement as HTMLElement).click();
    await settle();
    expect(navigator.clipboard.writeText).toHaveBeenCalledWith(mine.text);
    expect(app.toasts.map((x) => x.text)).toContain('Text copied');
    expect(document.activeElement).toBe(button);
  });

  it('a message being sent offers only Copy text; a recalled one no menu at all', async () => {
    const el = await openJerry();
    await app.send('c-jerry', 'on its way');
    await settleLayout();
    const sending = messages().find((m) => m.status === 'sending')!;
    rightClick(row(el, sending));
    await settle();
    expect(menuItems(el)).toEqual(['message-action-copy']);
    press(document.activeElement!, 'Escape');
    await settle();

    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    mock.control.recall('c-jerry', theirs.seq!);
    await settleLayout();
    const e = rightClick(row(el, theirs));
    await settle();
    expect(e.defaultPrevented).toBe(false);
    expect(byId(el, 'message-menu')).toBeNull();
  });
});

describe('editing', () => {
  it('Edit: the composer shows the original in its banner; Enter saves; the bubble says "edited"; the draft comes back', async () => {
    const el = await openJerry();
    type(composer(el), 'my draft');
    const mine = messages().filter((m) => m.own && m.seq !== null).slice(-1)[0]!;
    rightClick(row(el, mine));
    await settle();
    byId(el, 'message-action-edit')!.click();
    await settle();
    const banner = byId(el, 'composer-context')!;
    expect(banner.dataset.kind).toBe('edit');
    expect(banner.textContent).toContain('Editing');
    expect(byId(banner, 'composer-context-text')!.textContent).toBe(mine.text.replace(/\s+/g, ' '));
    expect(composer(el).value).toBe(mine.text);
    expect(document.activeElement).toBe(composer(el));
    expect(byId(el, 'send')!.getAttribute('aria-label')).toBe('Save');
    // Empty: not allowed (recall instead).
    type(composer(el), '  ');
    expect((byId(el, 'send') as HTMLButtonElement).disabled).toBe(true);
    expect(byId(el, 'composer-edit-empty')?.textContent).toContain('recall it instead');
    type(composer(el), 'the right words');
    press(composer(el), 'Enter');
    await settleLayout();
    const bubble = row(el, mine);
    expect(bubble.querySelector('[data-testid="message-text"]')!.textContent).toBe('the right words');
    const edited = byId(bubble, 'message-edited')!;
    expect(edited.textContent).toBe('edited');
    expect(edited.getAttribute('title')).toMatch(/^Edited /);
    expect(byId(el, 'composer-context')).toBeNull();
    expect(composer(el).value).toBe('my draft');
  });

  it('↑ in an empty composer edits the last message; Esc (or ×) leaves the edit', async () => {
    const el = await openJerry();
    const mine = messages().filter((m) => m.own && m.seq !== null).slice(-1)[0]!;
    composer(el).focus();
    const up = press(composer(el), 'ArrowUp');
    await settle();
    expect(up.defaultPrevented).toBe(true);
    expect(composer(el).value).toBe(mine.text);
    expect(byId(el, 'composer-context')!.dataset.kind).toBe('edit');
    const esc = press(composer(el), 'Escape');
    await settle();
    expect(esc.defaultPrevented).toBe(true);
    expect(byId(el, 'composer-context')).toBeNull();
    expect(composer(el).value).toBe('');
    expect(app.selectedId).toBe('c-jerry');

    press(composer(el), 'ArrowUp');
    await settle();
    byId(el, 'composer-context-cancel')!.click();
    await settle();
    expect(byId(el, 'composer-context')).toBeNull();
    expect(document.activeElement).toBe(composer(el));
    // Not empty: ↑ is the caret's.
    type(composer(el), 'typing');
    expect(press(composer(el), 'ArrowUp').defaultPrevented).toBe(false);
  });
});

describe('recalling and deleting', () => {
  it('Recall asks first; then the recall line (in the list too), and Re-edit puts the text back', async () => {
    const el = await openJerry();
    const mine = messages().filter((m) => m.own && m.seq !== null).slice(-1)[0]!;
    const button = byId(row(el, mine), 'message-actions')!;
    button.focus();
    button.click();
    await settle();
    byId(el, 'message-action-recall')!.click();
    await settle();
    const dialog = byId(el, 'recall-message-dialog')!;
    expect(dialog.textContent).toContain('Recall this message?');
    expect(dialog.textContent).toContain('It will be removed for everyone.');
    byId(el, 'recall-message-dialog-confirm')!.click();
    await settleLayout();
    expect(byId(el, 'recall-message-dialog')).toBeNull();
    const line = row(el, mine);
    expect(line.dataset.recalled).toBe('true');
    expect(byId(line, 'message-recalled')!.textContent).toContain('You recalled a message');
    expect(byId(line, 'message-text')).toBeNull();
    expect(byId(line, 'message-actions')).toBeNull();
    const preview = [...el.querySelectorAll<HTMLElement>('[data-testid="conversation-item"]')]
      .find((x) => x.dataset.conversationId === 'c-jerry')!
      .querySelector('[data-testid="conversation-preview"]')!;
    expect(preview.textContent).toBe('You recalled a message');

    byId(line, 'message-reedit')!.click();
    await settle();
    expect(composer(el).value).toBe(mine.text);
    expect(byId(row(el, mine), 'message-reedit')).toBeNull();
  });

  it('a recall by the other person: "Jerry recalled a message", no Re-edit', async () => {
    const el = await openJerry();
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    mock.control.recall('c-jerry', theirs.seq!);
    await settleLayout();
    const line = row(el, theirs);
    expect(byId(line, 'message-recalled')!.textContent?.trim()).toBe('Jerry recalled a message');
    expect(byId(line, 'message-reedit')).toBeNull();
  });

  it('Delete for me asks first, then the message goes', async () => {
    const el = await openJerry();
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    const button = byId(row(el, theirs), 'message-actions')!;
    button.focus();
    press(button, 'ArrowUp');
    await settle();
    byId(el, 'message-action-delete')!.click();
    await settle();
    expect(byId(el, 'delete-message-dialog')!.textContent).toContain('removed from this device only');
    byId(el, 'delete-message-dialog-confirm')!.click();
    await settleLayout();
    expect(el.querySelector(`[data-client-id="${theirs.clientId}"]`)).toBeNull();
    expect(document.activeElement).toBe(byId(el, 'message-list')); // (its ⋯ button went with it)
    expect(mock.control.messages('c-jerry').some((m) => m.clientId === theirs.clientId)).toBe(false);
  });
});

describe('replying', () => {
  it('Reply: the banner quotes the message; the message sent shows the quote; a click on it goes to the original, flashing', async () => {
    const el = await openJerry();
    const theirs = messages().filter((m) => !m.own).slice(-4)[0]!;
    rightClick(row(el, theirs));
    await settle();
    byId(el, 'message-action-reply')!.click();
    await settle();
    const banner = byId(el, 'composer-context')!;
    expect(banner.dataset.kind).toBe('reply');
    expect(banner.textContent).toContain('Replying to Jerry');
    expect(byId(banner, 'composer-context-text')!.textContent).toBe(theirs.text);
    expect(byId(el, 'composer-context-cancel')!.getAttribute('aria-label')).toBe('Cancel the reply');
    expect(document.activeElement).toBe(composer(el));
    type(composer(el), 'about that');
    press(composer(el), 'Enter');
    await settleLayout();
    expect(byId(el, 'composer-context')).toBeNull();
    const sent = messages().slice(-1)[0]!;
    expect(sent.replyTo?.seq).toBe(theirs.seq);
    mock.control.ack('c-jerry', sent.clientId);
    await settleLayout();
    const quote = byId(row(el, sent), 'message-quote')!;
    expect(quote.dataset.seq).toBe(String(theirs.seq));
    expect(quote.textContent).toContain('Jerry');
    expect(quote.textContent).toContain(theirs.text);
    // The quote is not the message's text (the e2e tests read that).
    expect(row(el, sent).querySelector('[data-testid="message-text"]')!.textContent).toBe('about that');

    quote.click();
    await settleLayout();
    expect(row(el, theirs).dataset.highlighted).toBe('true');
  });

  it('a quote of a recalled message says so', async () => {
    const el = await openJerry();
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    const reply = mock.control.incoming('c-jerry', 'u-jerry', 'about my last one', theirs.seq);
    await settleLayout();
    mock.control.recall('c-jerry', theirs.seq!);
    await settleLayout();
    const quote = byId(row(el, reply), 'message-quote')!;
    expect(quote.dataset.kind).toBe('recalled');
    expect(quote.textContent).toContain('Message recalled');
  });
});
