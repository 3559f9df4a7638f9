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

// The mock backend's rules for the server field (the backend's); it imports no runtime code of the api module.
const resolveServerAddress = await vi.hoisted(async () => (await import('../../lib/mock')).resolveServerAddress);

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
    // The server field, resolved by the mock backend's rules (the backend's).
    serverAddress: vi.fn(async (a: { input: string }) => resolveServerAddress(a.input)),
    // Who may sign up (the sign-up form asks): anyone.
    serverSignUpMode: vi.fn(async () => 'open'),
    signIn: vi.fn(async () => {
      throw { code: 'wrong_credentials', message: 'wrong username or password' };
    }),
    signUp: vi.fn(async () => {
      throw { code: 'username_taken', message: 'that username is taken' };
    }),
  };
});

const api = await import('../../lib/api');
const { SERVER_CHECK_DELAY_MS } = await import('../../lib/serverAddress');
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

describe('AuthScreen: the server field', () => {
  const signIn = vi.mocked(api.signIn);
  const signUp = vi.mocked(api.signUp);
  const serverAddress = vi.mocked(api.serverAddress);
  /** Longer than the field waits after the last keystroke. */
  const pause = async () => {
    await new Promise((r) => setTimeout(r, SERVER_CHECK_DELAY_MS + 50));
    await settle();
  };

  beforeEach(() => {
    signIn.mockClear();
    signUp.mockClear();
    serverAddress.mockClear();
    app.lastUsername = 'tom';
  });

  /** The sign-in screen with this server prefilled (checked on mount) and a password typed. */
  async function authWith(server: string) {
    app.lastServerUrl = server;
    const el = render(AuthScreen, {});
    type(byId(el, 'password') as HTMLInputElement, 'secret123');
    await settle();
    return el;
  }
  const submit = async (el: HTMLElement) => {
    byId(el, 'auth-submit')!.click();
    await settle();
  };
  const box = (el: HTMLElement) => byId(el, 'allow-insecure') as HTMLInputElement | null;

  it('a secure server: the URL it resolves to, with a lock and "Secure connection (TLS)"', async () => {
    const el = await authWith('chat.example.org');
    expect(serverAddress).toHaveBeenCalledWith({ input: 'chat.example.org' });
    const preview = byId(el, 'server-preview')!;
    expect(preview.dataset.kind).toBe('secure');
    expect(preview.textContent).toContain('Secure connection (TLS)');
    expect(byId(el, 'server-preview-url')?.textContent).toBe('wss://chat.example.org/ws');
    expect(preview.querySelector('svg')).not.toBeNull();
    expect((byId(el, 'server-url') as HTMLInputElement).getAttribute('aria-describedby')).toBe(preview.id);
    expect(byId(el, 'insecure-warning')).toBeNull();
    await submit(el);
    expect(signIn).toHaveBeenCalledWith({ serverUrl: 'chat.example.org', username: 'tom', password: 'secret123', allowInsecure: false });
  });

  it('the local demo server (ws://127.0.0.1): a quiet note, no warning and no box', async () => {
    const el = await authWith('ws://127.0.0.1:7822/ws');
    const preview = byId(el, 'server-preview')!;
    expect(preview.dataset.kind).toBe('local');
    expect(preview.textContent).toContain('Not encrypted: fine for a server on this computer');
    expect(byId(el, 'insecure-warning')).toBeNull();
    expect(box(el)).toBeNull();
    await submit(el);
    expect(signIn).toHaveBeenCalledTimes(1);
    expect(signIn.mock.calls[0][0].allowInsecure).toBe(false);
  });

  it('an unencrypted server elsewhere: a warning, and no sign-in until "Connect without encryption anyway" is ticked', async () => {
    const el = await authWith('ws://chat.example.org');
    expect(byId(el, 'server-preview')!.dataset.kind).toBe('insecure');
    const warning = byId(el, 'insecure-warning')!;
    expect(warning.getAttribute('role')).toBe('alert');
    expect(warning.textContent).toContain('messages and your password would travel over the network unencrypted');
    expect(warning.dataset.asked).toBe('false');
    expect(box(el)!.checked).toBe(false);
    expect(box(el)!.closest('label')?.textContent).toContain('Connect without encryption anyway');

    await submit(el);
    expect(signIn).not.toHaveBeenCalled();
    expect(warning.dataset.asked).toBe('true');
    expect(byId(el, 'insecure-ask')?.textContent).toContain('first tick “Connect without encryption anyway”');
    expect(document.activeElement).toBe(box(el));
    expect(box(el)!.getAttribute('aria-describedby')).toBe('auth-insecure-ask');

    box(el)!.click();
    flushSync();
    expect(warning.dataset.asked).toBe('false');
    await submit(el);
    expect(signIn).toHaveBeenCalledWith({ serverUrl: 'ws://chat.example.org', username: 'tom', password: 'secret123', allowInsecure: true });
    expect(byId(el, 'auth-error')?.dataset.code).toBe('wrong_credentials');
  });

  it('signing up also needs the box for an unencrypted server, and sends allowInsecure', async () => {
    const el = await authWith('http://10.0.0.2:7822');
    byId(el, 'auth-mode-toggle')!.click();
    flushSync();
    await submit(el);
    expect(signUp).not.toHaveBeenCalled();
    box(el)!.click();
    await submit(el);
    expect(signUp).toHaveBeenCalledWith({
      serverUrl: 'http://10.0.0.2:7822',
      username: 'tom',
      password: 'secret123',
      displayName: 'tom',
      allowInsecure: true,
      invite: null,
    });
  });

  it('checks as typing pauses (not every keystroke); consent goes when the address changes', async () => {
    const el = await authWith('ws://chat.example.org');
    box(el)!.click();
    flushSync();
    serverAddress.mockClear();
    const input = byId(el, 'server-url') as HTMLInputElement;
    for (const v of ['ws://o', 'ws://ot', 'ws://other.example.org']) type(input, v);
    await pause();
    expect(serverAddress.mock.calls).toEqual([[{ input: 'ws://other.example.org' }]]);
    expect(byId(el, 'server-preview-url')?.textContent).toBe('ws://other.example.org/ws');
    expect(box(el)!.checked).toBe(false); // consent was for chat.example.org

    type(input, 'https://chat.example.org');
    await pause();
    expect(byId(el, 'server-preview')!.dataset.kind).toBe('secure');
    expect(byId(el, 'insecure-warning')).toBeNull();
  });

  it('submitting right after typing checks the address first', async () => {
    const el = await authWith('chat.example.org');
    type(byId(el, 'server-url') as HTMLInputElement, 'ws://chat.example.org');
    await submit(el); // before the pause
    expect(signIn).not.toHaveBeenCalled();
    expect(byId(el, 'insecure-warning')?.dataset.asked).toBe('true');
  });

  it('an invalid address: the error under the field, marked invalid, and no sign-in', async () => {
    const el = await authWith('ftp://x');
    const input = byId(el, 'server-url') as HTMLInputElement;
    const error = byId(el, 'server-error')!;
    expect(error.dataset.code).toBe('invalid_server_address');
    expect(error.textContent?.trim()).toBe(
      "That doesn't look like a server address. Type it like chat.example.org, or ask the server's administrator for the exact address.",
    );
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe(error.id);
    expect(byId(el, 'server-preview')).toBeNull();
    await submit(el);
    expect(signIn).not.toHaveBeenCalled();
    expect(document.activeElement).toBe(input);

    type(input, 'a b');
    await pause();
    expect(byId(el, 'server-error')).not.toBeNull();
  });

  it('a certificate problem: the UI wording, the backend detail as text (never HTML)', async () => {
    signIn.mockRejectedValueOnce({ code: 'tls_untrusted', message: 'cannot connect securely to wss://x/ws: <b>untrusted</b>' });
    const el = await authWith('chat.example.org');
    await submit(el);
    const alert = byId(el, 'auth-error')!;
    expect(alert.dataset.code).toBe('tls_untrusted');
    expect(alert.textContent).toContain("This server's certificate isn't from an authority your computer trusts.");
    expect(byId(el, 'auth-error-detail')?.textContent).toBe('Cannot connect securely to wss://x/ws: <b>untrusted</b>.');
    expect(alert.querySelector('b')).toBeNull();
  });

  it('insecure_server from the backend (no answer from server_address): the warning and its box', async () => {
    serverAddress.mockRejectedValueOnce('command server_address not found');
    signIn.mockRejectedValueOnce({ code: 'insecure_server', message: 'ws://chat.example.org/ws is not encrypted' });
    const el = await authWith('ws://chat.example.org');
    expect(byId(el, 'insecure-warning')).toBeNull(); // nothing known yet
    await submit(el);
    expect(signIn).toHaveBeenCalledTimes(1);
    expect(byId(el, 'insecure-warning')?.dataset.asked).toBe('true');
    expect(byId(el, 'auth-error')).toBeNull();
    box(el)!.click();
    await submit(el);
    expect(signIn).toHaveBeenLastCalledWith(expect.objectContaining({ allowInsecure: true }));
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
