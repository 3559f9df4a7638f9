// @vitest-environment happy-dom
// @mentions and reactions on the main screen, against the mock backend. Mentions: typing `@` in a
// group's composer opens the member picker (not in a 1:1 chat), filtered by what follows; the keys
// (↑ / ↓, Enter, Tab, Esc) and a click choose; the name goes into the text and the uid with the
// message sent (unless the name was edited away); @all for the group's manager only. A message
// that mentions the user is marked, its @names highlighted; the list shows "[@me]" until read.
// Reactions: the menu's quick reactions toggle the user's own, the bar under a bubble shows each
// emoji with its count and who (a click toggles), a recalled message has none.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { ImEvent, UiMessage } from '../../lib/api';
import { createMockBackend, type MockBackend } from '../../lib/mock';
import { byId, render, settle, showMain, unmountAll } from './dom';
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
  await mock.listen((e: ImEvent) => (app as unknown as { onEvent(e: ImEvent): void }).onEvent(e));
  app.list.reset(); // (the read marks of the last test's conversations)
  showMain(app, mock.control.items());
  vi.spyOn(document, 'hasFocus').mockReturnValue(true);
});
afterEach(() => {
  unmountAll();
  app.threadStore.reset();
  app.members.reset();
  app.selectedId = null;
  for (const x of app.toasts) app.dismissToast(x.id);
  restoreLayout();
  vi.restoreAllMocks();
});

function press(target: EventTarget, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  flushSync();
  return e;
}
/** Types into the composer as a person does: the text, the caret at its end, an input event. */
async function typeIn(input: HTMLTextAreaElement, value: string) {
  input.focus();
  input.value = value;
  input.setSelectionRange(value.length, value.length);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
  await settle(); // (the members load)
}
const composer = (el: HTMLElement) => byId(el, 'composer') as HTMLTextAreaElement;
const options = (el: HTMLElement) => [...el.querySelectorAll<HTMLElement>('[data-testid="mention-option"]')];
const optionIds = (el: HTMLElement) => options(el).map((o) => (o.dataset.all === 'true' ? '@all' : o.dataset.uid));
const row = (el: HTMLElement, m: Pick<UiMessage, 'clientId'>) =>
  el.querySelector<HTMLElement>(`[data-testid="message"][data-client-id="${m.clientId}"]`)!;
const messages = () => app.currentThread!.messages;
const listItem = (el: HTMLElement, id: string) =>
  [...el.querySelectorAll<HTMLElement>('[data-testid="conversation-item"]')].find((x) => x.dataset.conversationId === id)!;
/** The arguments of the last send_text. */
const lastSent = () => mock.control.messages(app.selectedId!).filter((m) => m.own).slice(-1)[0]!;

async function open(id: string) {
  const el = render(MainScreen, {});
  await settle();
  await app.select(id);
  await settleLayout();
  return el;
}

describe('the mention picker', () => {
  it('opens on @ in a group: @all (the user manages it) and the other members, filtered as one types', async () => {
    const el = await open('c-group');
    await typeIn(composer(el), '@');
    const picker = byId(el, 'mention-picker')!;
    expect(picker.getAttribute('role')).toBe('listbox');
    expect(optionIds(el)).toEqual(['@all', 'u-jerry', 'u-spike']);
    expect(options(el)[0].getAttribute('aria-selected')).toBe('true');
    expect(composer(el).getAttribute('aria-controls')).toBe(picker.id);
    expect(composer(el).getAttribute('aria-activedescendant')).toBe(options(el)[0].id);

    await typeIn(composer(el), 'hi @SP');
    expect(optionIds(el)).toEqual(['u-spike']);
    await typeIn(composer(el), 'hi @nobody');
    expect(byId(el, 'mention-picker')).toBeNull();
    // A space after the @ (or an e-mail address): no picker.
    await typeIn(composer(el), 'hi @ ');
    expect(byId(el, 'mention-picker')).toBeNull();
    await typeIn(composer(el), 'tom@je');
    expect(byId(el, 'mention-picker')).toBeNull();
  });

  it('not in a 1:1 chat: @ is just text', async () => {
    const el = await open('c-jerry');
    await typeIn(composer(el), '@');
    expect(byId(el, 'mention-picker')).toBeNull();
    expect(composer(el).hasAttribute('aria-autocomplete')).toBe(false);
    press(composer(el), 'Enter');
    await settleLayout();
    expect(lastSent()).toMatchObject({ text: '@', mentions: [], mentionAll: false });
  });

  it('↓ and Enter choose: "@Name " goes into the text, and the mention goes with the message', async () => {
    const el = await open('c-group');
    await typeIn(composer(el), 'look @');
    press(composer(el), 'ArrowDown');
    expect(options(el)[1].getAttribute('aria-selected')).toBe('true');
    expect(composer(el).getAttribute('aria-activedescendant')).toBe(options(el)[1].id);
    press(composer(el), 'ArrowUp');
    press(composer(el), 'ArrowUp'); // (around)
    expect(options(el)[2].getAttribute('aria-selected')).toBe('true');
    const enter = press(composer(el), 'Enter');
    await settle();
    expect(enter.defaultPrevented).toBe(true);
    expect(composer(el).value).toBe('look @Spike ');
    expect(composer(el).selectionStart).toBe('look @Spike '.length);
    expect(byId(el, 'mention-picker')).toBeNull();
    expect(lastSent()?.text).not.toBe('look @Spike'); // (Enter chose; it did not send)

    await typeIn(composer(el), 'look @Spike and @j');
    press(composer(el), 'Tab');
    await settle();
    expect(composer(el).value).toBe('look @Spike and @Jerry ');
    press(composer(el), 'Enter');
    await settleLayout();
    expect(lastSent()).toMatchObject({ text: 'look @Spike and @Jerry', mentions: ['u-spike', 'u-jerry'], mentionAll: false });
    expect(composer(el).value).toBe('');
  });

  it('a click chooses; @all for the manager; a name edited away is not sent', async () => {
    const el = await open('c-group');
    await typeIn(composer(el), '@');
    options(el)[0].click(); // @all
    await settle();
    expect(composer(el).value).toBe('@all ');
    await typeIn(composer(el), '@all @');
    options(el).find((o) => o.dataset.uid === 'u-jerry')!.click();
    await settle();
    expect(composer(el).value).toBe('@all @Jerry ');
    // Jerry's name cut short before sending: only @all goes.
    await typeIn(composer(el), '@all @Jer meeting');
    press(composer(el), 'Enter');
    await settleLayout();
    expect(lastSent()).toMatchObject({ text: '@all @Jer meeting', mentions: [], mentionAll: true });
  });

  it('Esc closes it (and nothing else); it opens again for the next @', async () => {
    const el = await open('c-group');
    app.startReply(messages().filter((m) => m.seq !== null).slice(-1)[0]!);
    await settle();
    await typeIn(composer(el), '@');
    const esc = press(composer(el), 'Escape');
    await settle();
    expect(esc.defaultPrevented).toBe(true);
    expect(byId(el, 'mention-picker')).toBeNull();
    expect(byId(el, 'composer-context')).not.toBeNull(); // (the reply stays)
    await typeIn(composer(el), '@j');
    expect(byId(el, 'mention-picker')).toBeNull(); // (the same @)
    await typeIn(composer(el), '@j @');
    expect(byId(el, 'mention-picker')).not.toBeNull();
  });

  it('who does not manage the group gets no @all', async () => {
    mock.control.setManager('c-group', 'u-jerry');
    const el = await open('c-group');
    await typeIn(composer(el), '@');
    expect(optionIds(el)).toEqual(['u-jerry', 'u-spike']);
  });
});

describe('mentions in messages and in the list', () => {
  it('a message mentioning the user is marked, its @names highlighted', async () => {
    const el = await open('c-group');
    const m = mock.control.incoming('c-group', 'u-jerry', '@Tom and @Spike: cheese?', null, { mentions: ['u-tom', 'u-spike'] });
    const other = mock.control.incoming('c-group', 'u-spike', '@Jerry ok', null, { mentions: ['u-jerry'] });
    await settleLayout();
    await settle();
    const mine = row(el, m);
    expect(mine.dataset.mentionsMe).toBe('true');
    expect([...mine.querySelectorAll('[data-testid="mention"]')].map((x) => x.textContent)).toEqual(['@Tom', '@Spike']);
    expect(byId(mine, 'message-text')!.textContent).toBe('@Tom and @Spike: cheese?');
    const theirs = row(el, other);
    expect(theirs.dataset.mentionsMe).toBeUndefined();
    expect(byId(theirs, 'mention')!.textContent).toBe('@Jerry');
  });

  it('the list shows [@me] for unread mentions (muted too), until the conversation is read', async () => {
    const el = await open('c-jerry');
    expect(byId(listItem(el, 'c-group'), 'conversation-mention-badge')).toBeNull();
    await app.setMuted('c-group', true);
    mock.control.incoming('c-group', 'u-spike', '@all meeting now', null, { mentionAll: true });
    await settleLayout();
    const badge = byId(listItem(el, 'c-group'), 'conversation-mention-badge')!;
    expect(badge.textContent).toContain('[@me]');
    expect(badge.textContent).toContain('You were mentioned');
    expect(byId(listItem(el, 'c-group'), 'conversation-preview')!.textContent).toBe('Spike: @all meeting now');

    await app.select('c-group');
    await settleLayout();
    expect(app.selected?.unreadMentions).toBe(0);
    expect(byId(listItem(el, 'c-group'), 'conversation-mention-badge')).toBeNull();
  });
});

describe('reactions', () => {
  it('the bar: each emoji with its count and who; a click toggles the user’s own', async () => {
    const el = await open('c-jerry');
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    mock.control.react('c-jerry', theirs.seq!, 'u-jerry', '👍', true);
    await settleLayout();
    const bar = byId(row(el, theirs), 'reaction-bar')!;
    const thumbs = () => byId(row(el, theirs), 'reaction-bar')!.querySelector<HTMLElement>('[data-emoji="👍"]')!;
    expect(bar.getAttribute('aria-label')).toBe('Reactions');
    expect(thumbs().dataset.mine).toBe('false');
    expect(thumbs().getAttribute('aria-pressed')).toBe('false');
    expect(thumbs().textContent).toBe('👍1');
    expect(thumbs().getAttribute('title')).toBe('👍 1: Jerry');

    thumbs().click();
    flushSync();
    // Shown at once, then as the backend says.
    expect(thumbs().dataset.mine).toBe('true');
    await settleLayout();
    expect(thumbs().dataset.mine).toBe('true');
    expect(thumbs().getAttribute('aria-label')).toBe('👍 2: Jerry, Tom');
    expect(mock.control.messages('c-jerry').find((m) => m.seq === theirs.seq)!.reactions).toEqual([
      { emoji: '👍', count: 2, mine: true, names: ['Jerry', 'Tom'] },
    ]);

    thumbs().click();
    await settleLayout();
    expect(thumbs().dataset.mine).toBe('false');
    expect(thumbs().textContent).toBe('👍1');
    mock.control.react('c-jerry', theirs.seq!, 'u-jerry', '👍', false);
    await settleLayout();
    expect(byId(row(el, theirs), 'reaction-bar')).toBeNull();
  });

  it('the menu’s quick reactions toggle the user’s own (checked when they have it)', async () => {
    const el = await open('c-jerry');
    const mine = messages().filter((m) => m.own && m.seq !== null).slice(-1)[0]!;
    byId(row(el, mine), 'message-actions')!.click();
    await settle();
    const quick = [...el.querySelectorAll<HTMLElement>('[data-testid="message-react"]')];
    expect(quick.map((x) => x.dataset.emoji)).toEqual(['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '👌']);
    expect(quick[1].getAttribute('role')).toBe('menuitemcheckbox');
    expect(quick[1].getAttribute('aria-checked')).toBe('false');
    quick[1].click();
    await settleLayout();
    expect(byId(el, 'message-menu')).toBeNull();
    expect(document.activeElement).toBe(byId(row(el, mine), 'message-actions'));
    const heart = byId(row(el, mine), 'reaction-bar')!.querySelector<HTMLElement>('[data-testid="reaction"]')!;
    expect([heart.dataset.emoji, heart.dataset.mine]).toEqual(['❤️', 'true']);

    byId(row(el, mine), 'message-actions')!.click();
    await settle();
    const again = el.querySelector<HTMLElement>('[data-testid="message-react"][data-emoji="❤️"]')!;
    expect(again.getAttribute('aria-checked')).toBe('true');
    again.click();
    await settleLayout();
    expect(byId(row(el, mine), 'reaction-bar')).toBeNull();
  });

  it('a refusal is a toast, and the reaction shown goes back', async () => {
    const el = await open('c-jerry');
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    const real = mock.invoke.bind(mock);
    vi.spyOn(mock, 'invoke').mockImplementation(async (cmd, args) => {
      if (cmd === 'react') throw { code: 'too_many_reactions', message: 'at most 20' };
      return real(cmd, args);
    });
    await app.react(theirs, '🎉');
    await settleLayout();
    expect(byId(row(el, theirs), 'reaction-bar')).toBeNull();
    expect(app.toasts.map((x) => x.text)).toContain(
      'This message has as many different reactions as it can take (20). Choose one of those already there.',
    );
  });

  it('a recalled message shows none and offers none', async () => {
    const el = await open('c-jerry');
    const theirs = messages().filter((m) => !m.own).slice(-1)[0]!;
    mock.control.react('c-jerry', theirs.seq!, 'u-jerry', '😂', true);
    await settleLayout();
    expect(byId(row(el, theirs), 'reaction-bar')).not.toBeNull();
    mock.control.recall('c-jerry', theirs.seq!);
    await settleLayout();
    expect(byId(row(el, theirs), 'reaction-bar')).toBeNull();
    expect(byId(row(el, theirs), 'message-actions')).toBeNull();
    expect(await app.react(messages().find((m) => m.seq === theirs.seq)!, '👍')).toBe(false);
  });
});
