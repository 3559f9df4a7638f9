// @vitest-environment happy-dom
// Automated accessibility checks (axe-core, src/test/axe.ts) on each screen and dialog: sign-in,
// sign-up with an invite code, the main screen, an open chat, and the new chat, settings,
// sign-out, blocked users and quick switcher dialogs. Any violation fails, listed with its rule,
// its help text and the elements concerned.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import type { UserInfo } from '../../lib/api';
import { conv, msg } from '../../lib/__tests__/fixtures';
import { axeViolations, describeViolations, expectNoAxeViolations, RULES_NEEDING_LAYOUT } from '../../test/axe';
import { byId, render, settle, showMain, stubResizeObserver, type, unmountAll } from './dom';

const resolveServerAddress = await vi.hoisted(async () => (await import('../../lib/mock')).resolveServerAddress);

const people: Record<string, UserInfo> = {
  jerry: { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' },
  jerry_official: { uid: 'u-fake', username: 'jerry_official', displayName: 'J\u0435rry' },
  spike: { uid: 'u-spike', username: 'spike', displayName: 'Spike' },
};
const DAY = 86_400_000;

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  const ok = async () => null;
  return {
    ...real,
    uiReady: ok,
    setTyping: ok,
    setActiveConversation: ok,
    markRead: ok,
    findUser: async (a: { username: string }) => people[a.username] ?? null,
    listConversations: async () => [],
    loadMessages: vi.fn(async () => ({ messages: [], hasMore: false })),
    serverAddress: async (a: { input: string }) => resolveServerAddress(a.input),
    serverSignUpMode: vi.fn(async () => 'open'),
    listSessions: async () => [
      { id: '41d7a3e90b6c2f58', device: 'Gtedx IM on Linux', createdAt: Date.now(), current: true },
      { id: '9c1e0f4b7a2d8e63', device: '', createdAt: Date.now() - 2 * DAY, current: false },
    ],
    blockedUsers: async () => [people.spike],
    conversationMembers: async () => [
      { uid: 'u-tom', username: 'tom', displayName: 'Tom', manager: true, me: true },
      { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry', manager: false, me: false },
      { uid: 'u-spike', username: 'spike', displayName: 'Spike', manager: false, me: false },
    ],
    // (The storage and the updates: updates.test.ts.)
    cacheUsage: async () => ({ bytes: 1_234_567, messages: 321 }),
    updateStatus: async () => ({ currentVersion: '1', autoCheck: true, checkedAt: null, state: { kind: 'idle' } }),
    searchMessages: vi.fn(async () => [
      { message: msg({ conversationId: 'c-jerry', text: 'Where is the cheese? I want the cheese.', timestamp: Date.now() - 60_000 }), conversationTitle: 'Jerry' },
      { message: msg({ conversationId: 'c-jerry', own: true, from: 'u-tom', fromName: 'Tom', text: 'No cheese for you', timestamp: Date.now() - 3_600_000 }), conversationTitle: 'Jerry' },
      { message: msg({ conversationId: 'c-group', from: 'u-spike', fromName: 'Spike', text: '奶酪（cheese）在冰箱里', timestamp: Date.now() - 2 * DAY }), conversationTitle: '耗子的群' },
    ]),
  };
});

const api = await import('../../lib/api');
const { app } = await import('../../lib/store.svelte');
const { SIGN_UP_MODE_DELAY_MS } = await import('../../lib/signUpMode');
const { SWITCHER_LOOKUP_DELAY_MS } = await import('../../lib/quickSwitcher');
const { SEARCH_DEBOUNCE_MS } = await import('../../lib/stores/search.svelte');
const AuthScreen = (await import('../AuthScreen.svelte')).default;
const MainScreen = (await import('../MainScreen.svelte')).default;

const jerry = conv({
  id: 'c-jerry',
  displayTitle: 'Jerry',
  peer: people.jerry,
  lastActivity: Date.now() - 60_000,
  unreadCount: 2,
  lastMessage: msg({ conversationId: 'c-jerry', text: 'Where is the cheese?' }),
});
const fake = conv({ id: 'c-fake', title: 'Jerry (new account)', displayTitle: 'J\u0435rry', peer: people.jerry_official, lastActivity: Date.now() - DAY });
const group = conv({
  id: 'c-group',
  type: 'GROUP_CHAT',
  title: '耗子的群',
  displayTitle: '耗子的群',
  userIds: ['u-tom', 'u-jerry', 'u-spike'],
  muted: true,
  unreadCount: 1,
  lastActivity: Date.now() - 2 * DAY,
  lastMessage: msg({ conversationId: 'c-group', from: 'u-spike', fromName: 'Spike', text: 'Meeting at noon.' }),
});

beforeEach(() => {
  stubResizeObserver(['conversation-list', 'message-list']);
  app.info = { version: '1', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.authError = null;
  app.signedOutReason = null;
  showMain(app, [jerry, fake, group]);
});
afterEach(() => {
  unmountAll();
  vi.unstubAllGlobals();
  app.newChatOpen = app.settingsOpen = app.blockedUsersOpen = app.quickSwitcherOpen = false;
  app.search.close();
  app.selectedId = null;
  app.threadStore.reset();
  app.blocks.reset();
});

// axe on a whole screen takes a moment (more on a busy machine).
const AXE_MS = 30_000;

describe('the axe helper', () => {
  it('fails listing each violation: its rule, its help and the elements concerned', async () => {
    const el = document.createElement('div');
    el.innerHTML = '<main><button data-x="icon"><svg aria-hidden="true"></svg></button><img src="a.png"></main>';
    document.body.append(el);
    const violations = await axeViolations(el);
    expect(violations.map((v) => v.id).sort()).toEqual(['button-name', 'image-alt']);
    const text = describeViolations(violations);
    expect(text).toContain('button-name: Buttons must have discernible text');
    expect(text).toContain('button-name: Buttons must have discernible text (button)\n    <button data-x="icon">');
    expect(text).toContain('image-alt: Images must have alternative text (img)');
    await expect(expectNoAxeViolations(el)).rejects.toThrow(/2 accessibility violation\(s\):\n/);
  }, AXE_MS);

  it('turns off only the rules that need a real layout', () => {
    expect(Object.keys(RULES_NEEDING_LAYOUT).sort()).toEqual(['color-contrast', 'color-contrast-enhanced', 'target-size']);
  });

  it('hidden elements are hidden, as in a browser (happy-dom has no user-agent stylesheet)', async () => {
    const el = document.createElement('div');
    el.innerHTML = '<main><input type="text" hidden><p>Text</p></main>';
    document.body.append(el);
    await expectNoAxeViolations(el);
  }, AXE_MS);
});

describe('no accessibility violations', () => {
  it('sign-in', async () => {
    const el = render(AuthScreen, {});
    await settle();
    expect(byId(el, 'auth-form')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('sign-up on a server that needs an invite code', async () => {
    vi.mocked(api.serverSignUpMode).mockResolvedValue('invite');
    app.lastServerUrl = 'invite.example.org';
    const el = render(AuthScreen, {});
    await settle();
    byId(el, 'auth-mode-toggle')!.click();
    flushSync();
    await new Promise((r) => setTimeout(r, SIGN_UP_MODE_DELAY_MS + 50));
    await settle();
    expect(byId(el, 'invite-code')).not.toBeNull();
    expect(byId(el, 'display-name')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
    app.lastServerUrl = null;
  }, AXE_MS);

  it('the main screen with its conversation list', async () => {
    const el = render(MainScreen, {});
    await settle();
    expect(el.querySelectorAll('[data-testid="conversation-item"]')).toHaveLength(3);
    expect(byId(el, 'muted-indicator')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('a narrow window (one pane at a time): the list, then the chat', async () => {
    const setWidth = (width: number) => {
      window.innerWidth = width;
      window.dispatchEvent(new Event('resize'));
      flushSync();
    };
    setWidth(480);
    try {
      const el = render(MainScreen, {});
      await settle();
      expect(byId(el, 'chat-title')).toBeNull();
      await expectNoAxeViolations(el, { page: true });
      await app.select('c-jerry');
      await settle();
      expect(byId(el, 'conversation-list')).toBeNull();
      expect(byId(el, 'chat-back')).not.toBeNull();
      await expectNoAxeViolations(el, { page: true });
    } finally {
      setWidth(1024);
    }
  }, AXE_MS);

  it('an open chat with messages (own, read, failed with Retry; a group with senders)', async () => {
    const base = new Date(2024, 4, 10, 12).getTime();
    vi.mocked(api.loadMessages).mockResolvedValue({
      messages: [
        msg({ conversationId: 'c-group', from: 'u-spike', fromName: 'Spike', text: 'Meeting at noon.', seq: 1, timestamp: base }),
        msg({ conversationId: 'c-group', from: 'u-fake', fromName: 'Jerry', text: 'I will bring snacks.', seq: 2, timestamp: base + 60_000 }),
        msg({ conversationId: 'c-group', own: true, from: 'u-tom', fromName: 'Tom', text: 'Count me in.', seq: 3, timestamp: base + DAY }),
        msg({ conversationId: 'c-group', own: true, from: 'u-tom', fromName: 'Tom', text: 'fail', seq: null, id: null, status: 'failed', error: { code: 'internal', message: 'x' }, timestamp: base + DAY + 1 }),
      ],
      hasMore: false,
    });
    const el = render(MainScreen, {});
    await settle();
    await app.select('c-group');
    await settle();
    expect(el.querySelectorAll('[data-testid="message"]')).toHaveLength(4);
    expect(byId(el, 'retry')).not.toBeNull();
    expect(byId(el, 'day-separator')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });

    // And a 1:1 chat with the similar-name warning and the ⋮ menu open.
    await app.select('c-fake');
    await settle();
    byId(el, 'chat-menu')!.click();
    await settle();
    expect(byId(el, 'similar-name-warning')).not.toBeNull();
    expect(byId(el, 'chat-menu-items')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('a chat with an edited, a recalled and a reply message; the actions menu open; the composer replying', async () => {
    const base = Date.now() - 60 * 60_000;
    const first = msg({ conversationId: 'c-jerry', text: 'Where is the cheese?', seq: 1, timestamp: base });
    vi.mocked(api.loadMessages).mockResolvedValue({
      messages: [
        first,
        msg({ conversationId: 'c-jerry', own: true, from: 'u-tom', fromName: 'Tom', text: 'In the fridge.', seq: 2, timestamp: base + 60_000, editedAt: base + 120_000, editableUntil: Date.now() + 3_600_000, recallableUntil: Date.now() + 3_600_000 }),
        msg({ conversationId: 'c-jerry', text: '', recalled: true, recalledByName: 'Jerry', seq: 3, timestamp: base + 180_000 }),
        msg({ conversationId: 'c-jerry', own: true, from: 'u-tom', fromName: 'Tom', text: '', recalled: true, recalledByName: 'Tom', seq: 4, timestamp: base + 200_000 }),
        msg({ conversationId: 'c-jerry', text: 'Thanks!', seq: 5, timestamp: base + 240_000, replyTo: { seq: 2, fromName: 'Tom', text: 'In the fridge.', recalled: false } }),
        msg({ conversationId: 'c-jerry', text: 'Before your time.', seq: 6, timestamp: base + 300_000, replyTo: { seq: 0, fromName: null, text: null, recalled: false } }),
      ],
      hasMore: false,
    });
    const el = render(MainScreen, {});
    await settle();
    await app.select('c-jerry');
    await settle();
    expect(el.querySelectorAll('[data-testid="message"]')).toHaveLength(6);
    expect(byId(el, 'message-edited')).not.toBeNull();
    expect(el.querySelectorAll('[data-testid="message-recalled"]')).toHaveLength(2);
    expect(el.querySelectorAll('[data-testid="message-quote"]')).toHaveLength(2);
    await expectNoAxeViolations(el, { page: true });

    // The menu of the edited message open (the ⋯ button), then Reply: the composer's banner.
    const edited = byId(el, 'message-edited')!.closest<HTMLElement>('[data-testid="message"]')!;
    byId(edited, 'message-actions')!.click();
    await settle();
    expect(byId(el, 'message-menu')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
    byId(el, 'message-action-reply')!.click();
    await settle();
    expect(byId(el, 'composer-context')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });

    // The recall confirmation.
    app.askMessage('recall', first);
    await settle();
    expect(byId(el, 'recall-message-dialog')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
    app.messageRequest = null;
    app.cancelComposerContext('c-jerry');
  }, AXE_MS);

  it('a group with mentions and reactions, [@me] in the list; the mention picker open; the menu with its quick reactions', async () => {
    const base = Date.now() - 60 * 60_000;
    const r = (emoji: string, names: string[], mine = false) => ({ emoji, count: names.length, mine, names });
    vi.mocked(api.loadMessages).mockResolvedValue({
      messages: [
        msg({ conversationId: 'c-group', from: 'u-jerry', fromName: 'Jerry', text: '@Tom @Spike cheese at noon?', seq: 1, timestamp: base, mentions: ['u-tom', 'u-spike'], mentionsMe: true, reactions: [r('👍', ['Spike', 'Tom'], true), r('🎉', ['Spike'])] }),
        msg({ conversationId: 'c-group', own: true, from: 'u-tom', fromName: 'Tom', text: '@all yes', seq: 2, timestamp: base + 60_000, mentionAll: true, reactions: [r('❤️', ['Jerry'])] }),
      ],
      hasMore: false,
    });
    showMain(app, [jerry, fake, { ...group, unreadMentions: 1 }]);
    const el = render(MainScreen, {});
    await settle();
    expect(byId(el, 'conversation-mention-badge')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });

    await app.select('c-group');
    await settle();
    await settle();
    expect(el.querySelectorAll('[data-testid="reaction"]')).toHaveLength(3);
    expect([...el.querySelectorAll('[data-testid="mention"]')].map((x) => x.textContent)).toEqual(['@Tom', '@Spike', '@all']);
    expect(el.querySelector('[data-mentions-me="true"]')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });

    // The picker, as `@` is typed.
    const input = byId(el, 'composer') as HTMLTextAreaElement;
    input.focus();
    input.value = '@';
    input.setSelectionRange(1, 1);
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await settle();
    expect(el.querySelectorAll('[data-testid="mention-option"]')).toHaveLength(3);
    await expectNoAxeViolations(el, { page: true });
    type(input, '');
    await settle();

    // The menu, with its row of quick reactions.
    const first = el.querySelector<HTMLElement>('[data-testid="message"][data-seq="1"]')!;
    byId(first, 'message-actions')!.click();
    await settle();
    expect(el.querySelectorAll('[data-testid="message-react"]')).toHaveLength(8);
    await expectNoAxeViolations(el, { page: true });
    document.body.dispatchEvent(new MouseEvent('pointerdown', { bubbles: true }));
    await settle();
  }, AXE_MS);

  it('the new chat dialog (a member added, the group hint)', async () => {
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'new-chat')!.click();
    await settle();
    type(byId(el, 'new-chat-username') as HTMLInputElement, 'jerry_official');
    byId(el, 'new-chat-add')!.click();
    await settle();
    expect(byId(el, 'new-chat-member')).not.toBeNull();
    expect(byId(el, 'new-chat-group-hint')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('the settings dialog', async () => {
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'settings-open')!.click();
    await settle();
    expect(byId(el, 'settings-dialog')).not.toBeNull();
    expect(el.querySelectorAll('[data-testid="device"]')).toHaveLength(2);
    expect(byId(el, 'cache-usage')?.textContent).toContain('1.2 MB');
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('the sign-out dialog', async () => {
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'sign-out')!.click();
    await settle();
    expect(byId(el, 'sign-out-dialog')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('the blocked users dialog', async () => {
    app.session.connection = { state: 'online' };
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'blocked-users-open')!.click();
    await settle();
    expect(byId(el, 'blocked-user')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);

  it('the quick switcher, with conversations and "Start a chat with @spike"', async () => {
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'quick-switcher-open')!.click();
    await settle();
    await expectNoAxeViolations(el, { page: true });
    type(byId(el, 'quick-switcher-input') as HTMLInputElement, 'spike');
    await new Promise((r) => setTimeout(r, SWITCHER_LOOKUP_DELAY_MS + 30));
    await settle();
    expect(el.querySelector('[data-kind="person"]')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
    type(byId(el, 'quick-switcher-input') as HTMLInputElement, 'nothing matches this');
    expect(el.querySelector('[data-testid="quick-switcher-option"]')).toBeNull();
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);
  it('the message search: the hint, then hits grouped by conversation with the terms marked, then none', async () => {
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'search-open')!.click();
    await settle();
    expect(byId(el, 'search-panel')).not.toBeNull();
    await expectNoAxeViolations(el, { page: true });
    type(byId(el, 'search-input') as HTMLInputElement, 'Cheese');
    await new Promise((r) => setTimeout(r, SEARCH_DEBOUNCE_MS + 30));
    await settle();
    expect(el.querySelectorAll('[data-testid="search-group"]')).toHaveLength(2);
    expect(el.querySelectorAll('[data-testid="search-hit"]')).toHaveLength(3);
    expect(el.querySelectorAll('[data-testid="search-hit"] mark').length).toBeGreaterThanOrEqual(4);
    await expectNoAxeViolations(el, { page: true });
    vi.mocked(api.searchMessages).mockResolvedValueOnce([]);
    type(byId(el, 'search-input') as HTMLInputElement, 'brie');
    await new Promise((r) => setTimeout(r, SEARCH_DEBOUNCE_MS + 30));
    await settle();
    expect(byId(el, 'search-status')?.textContent?.trim()).toBe('No messages with “brie”');
    await expectNoAxeViolations(el, { page: true });
  }, AXE_MS);
});
