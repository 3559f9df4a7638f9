// The app state wired to a fake backend: boot paths, event handling, read marking, typing expiry.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { isReadByPeer } from '../conversations';
import { conv, msg } from './fixtures';

const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
const { calls, responses, emit, count, argsOf } = backend;

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  const { calls, responses, call } = backend;
  return backend.api(real, {
    appInfo: call('app_info'),
    restoreSession: call('restore_session'),
    // The real one is one round trip; here it is composed from the other fakes, and records the
    // first-page list call it stands for.
    bootstrap: async () => {
      calls.push({ cmd: 'bootstrap' });
      const info = responses.app_info ? responses.app_info({}) : null;
      let account: unknown = null;
      let error: unknown = null;
      try {
        account = responses.restore_session ? await responses.restore_session({}) : null;
      } catch (e) {
        error = real.toAppError(e);
      }
      let conversations: unknown = [];
      if (account) {
        const args = { offset: 0, limit: real.CONVERSATIONS_FIRST_PAGE };
        calls.push({ cmd: 'list_conversations', args });
        conversations = (responses.list_conversations ? await responses.list_conversations(args) : []) ?? [];
      }
      const connection = responses.connection_state ? responses.connection_state({}) : { state: 'offline' };
      return { info, account, error, conversations, connection };
    },
    signIn: call('sign_in'),
    signUp: call('sign_up'),
    createConversation: call('create_conversation'),
    sendText: call('send_text'),
    retrySend: call('retry_send'),
  });
});

const account = { uid: 'u-tom', username: 'tom', displayName: 'Tom', serverUrl: 'ws://x' };

async function freshApp() {
  vi.resetModules();
  const mod = await import('../store.svelte');
  return mod.app;
}

const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  backend.reset({
    app_info: () => ({ version: '1', profile: null, defaultServerUrl: 'ws://x' }),
    connection_state: () => ({ state: 'online' }),
    list_conversations: () => [],
    load_messages: () => ({ messages: [], hasMore: false }),
    blocked_users: () => [],
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

async function signedIn() {
  responses.restore_session = () => account;
  responses.list_conversations = () => [conv({ id: 'c1', lastActivity: 1 }), conv({ id: 'c2', lastActivity: 2 })];
  const app = await freshApp();
  await app.boot();
  return app;
}

describe('boot', () => {
  it('shows the sign-in screen without a saved session', async () => {
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    expect(app.phase).toBe('auth');
    expect(app.authError).toBeNull();
  });

  it('keeps keyring_unavailable from restore_session for the sign-in screen', async () => {
    responses.restore_session = () => {
      throw { code: 'keyring_unavailable', message: 'locked' };
    };
    const app = await freshApp();
    await app.boot();
    expect(app.phase).toBe('auth');
    expect(app.authError).toEqual({ code: 'keyring_unavailable', message: 'locked' });
  });

  it('restores a session and loads the first page of conversations (offset 0, limit 50), most recent first', async () => {
    responses.restore_session = () => account;
    responses.list_conversations = () => [conv({ id: 'old', lastActivity: 1 }), conv({ id: 'new', lastActivity: 9 })];
    const app = await freshApp();
    await app.boot();
    expect(app.phase).toBe('main');
    expect(argsOf('list_conversations')).toEqual([{ offset: 0, limit: 50 }]);
    expect(app.conversations.map((c) => c.id)).toEqual(['new', 'old']);
    expect(app.conversationsComplete).toBe(true); // 2 < 50: the whole list
    // Without animation frames (here: Node) ui_ready still comes, once.
    app.notifyReady();
    app.notifyReady();
    await flush();
    await flush();
    expect(count('ui_ready')).toBe(1);
  });

  it('invokes ui_ready exactly once, after the first paint (two animation frames)', async () => {
    const frames: (() => void)[] = [];
    vi.stubGlobal('requestAnimationFrame', (cb: () => void) => frames.push(cb));
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    app.notifyReady(); // the sign-in screen mounted
    app.notifyReady();
    await flush();
    expect(count('ui_ready')).toBe(0);
    expect(frames).toHaveLength(1);
    frames.shift()!(); // runs before the first paint
    expect(count('ui_ready')).toBe(0);
    expect(frames).toHaveLength(1);
    frames.shift()!(); // runs after it
    await flush();
    expect(count('ui_ready')).toBe(1);
    app.notifyReady(); // e.g. the conversation list after signing in
    await flush();
    expect(frames).toHaveLength(0);
    expect(count('ui_ready')).toBe(1);
  });

  it('takes maxTextChars from app_info, 4096 when missing', async () => {
    responses.restore_session = () => null;
    responses.app_info = () => ({ version: '1', profile: null, defaultServerUrl: 'ws://x', maxTextChars: 1000 });
    let app = await freshApp();
    await app.boot();
    expect(app.maxTextChars).toBe(1000);
    responses.app_info = () => ({ version: '1', profile: null, defaultServerUrl: 'ws://x' });
    app = await freshApp();
    await app.boot();
    expect(app.maxTextChars).toBe(4096);
    responses.app_info = () => {
      throw { code: 'internal', message: 'x' };
    };
    app = await freshApp();
    await app.boot();
    expect(app.maxTextChars).toBe(4096);
  });

  it('keyring_unavailable from sign_in / sign_up reaches the sign-in screen (rejects, stays there)', async () => {
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    responses.sign_in = () => {
      throw { code: 'keyring_unavailable', message: 'no Secret Service' };
    };
    responses.sign_up = responses.sign_in;
    await expect(app.signIn({ serverUrl: 'ws://x', username: 'tom', password: 'p' })).rejects.toEqual({
      code: 'keyring_unavailable',
      message: 'no Secret Service',
    });
    await expect(
      app.signUp({ serverUrl: 'ws://x', username: 'tom', password: 'p', displayName: 'Tom' }),
    ).rejects.toMatchObject({ code: 'keyring_unavailable' });
    expect(app.phase).toBe('auth');
  });

  it('passes allowInsecure (consent to an unencrypted server) through to sign_in / sign_up', async () => {
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    responses.sign_in = () => {
      throw { code: 'tls_untrusted', message: 'cannot connect securely' };
    };
    responses.sign_up = responses.sign_in;
    const a = { serverUrl: 'ws://chat.example.org', username: 'tom', password: 'p' };
    await expect(app.signIn({ ...a, allowInsecure: true })).rejects.toMatchObject({ code: 'tls_untrusted' });
    await expect(app.signUp({ ...a, displayName: 'Tom', allowInsecure: true })).rejects.toMatchObject({ code: 'tls_untrusted' });
    expect(argsOf('sign_in')).toEqual([{ ...a, allowInsecure: true }]);
    expect(argsOf('sign_up')).toEqual([{ ...a, displayName: 'Tom', allowInsecure: true }]);
    expect(app.phase).toBe('auth');
  });
});

describe('signed in', () => {
  it('opening a conversation loads the newest page and tells the backend', async () => {
    const app = await signedIn();
    responses.load_messages = () => ({ messages: [msg({ seq: 1 }), msg({ seq: 2 })], hasMore: true });
    await app.select('c1');
    expect(calls).toContainEqual({ cmd: 'load_messages', args: { conversationId: 'c1', beforeSeq: null, limit: 50 } });
    expect(calls).toContainEqual({ cmd: 'set_active_conversation', args: { conversationId: 'c1' } });
    expect(app.currentThread?.messages.map((m) => m.seq)).toEqual([1, 2]);
    // Marked read up to the newest message.
    expect(calls).toContainEqual({ cmd: 'mark_read', args: { conversationId: 'c1', seq: 2 } });
  });

  it('loads older history before the smallest seq shown', async () => {
    const app = await signedIn();
    responses.load_messages = (a) =>
      a.beforeSeq === null
        ? { messages: [msg({ seq: 51 }), msg({ seq: 52 })], hasMore: true }
        : { messages: [msg({ seq: 50 })], hasMore: false };
    await app.select('c1');
    await app.loadOlder(app.currentThread!);
    expect(calls).toContainEqual({ cmd: 'load_messages', args: { conversationId: 'c1', beforeSeq: 51, limit: 50 } });
    expect(app.currentThread?.messages.map((m) => m.seq)).toEqual([50, 51, 52]);
    expect(app.currentThread?.hasMore).toBe(false);
  });

  it('merges a sent message, its ack event and a duplicate from a page', async () => {
    const app = await signedIn();
    await app.select('c1');
    const sending = msg({ conversationId: 'c1', clientId: 'mine', id: null, seq: null, own: true, status: 'sending', text: 'hi' });
    responses.send_text = () => sending;
    await app.send('c1', 'hi');
    expect(app.currentThread?.messages).toHaveLength(1);
    const acked = { ...sending, seq: 7, id: 's7', status: 'sent' as const };
    emit({ kind: 'message', message: acked });
    emit({ kind: 'message', message: acked });
    expect(app.currentThread?.messages).toHaveLength(1);
    expect(app.currentThread?.messages[0]).toMatchObject({ status: 'sent', seq: 7 });
    // The list moved c1 to the top with the new preview.
    expect(app.conversations[0].id).toBe('c1');
    expect(app.conversations[0].lastMessage?.text).toBe('hi');
  });

  it('a new message in the open conversation is marked read', async () => {
    const app = await signedIn();
    await app.select('c1');
    emit({ kind: 'message', message: msg({ conversationId: 'c1', seq: 10 }) });
    expect(calls).toContainEqual({ cmd: 'mark_read', args: { conversationId: 'c1', seq: 10 } });
    const before = calls.filter((c) => c.cmd === 'mark_read').length;
    emit({ kind: 'message', message: msg({ conversationId: 'c1', seq: 10, clientId: 'x', id: 'x' }) });
    expect(calls.filter((c) => c.cmd === 'mark_read').length).toBe(before);
  });

  it('messages of other conversations update the list but not the open thread', async () => {
    const app = await signedIn();
    await app.select('c1');
    emit({ kind: 'message', message: msg({ conversationId: 'c2', seq: 3, timestamp: 99 }) });
    expect(app.currentThread?.messages).toHaveLength(0);
    expect(app.conversations.find((c) => c.id === 'c2')?.lastMessage?.seq).toBe(3);
    expect(calls.filter((c) => c.cmd === 'mark_read')).toHaveLength(0);
  });

  it('conversation events replace list items; removal closes the open one', async () => {
    const app = await signedIn();
    await app.select('c1');
    emit({ kind: 'conversation', conversation: conv({ id: 'c3', lastActivity: 50, unreadCount: 4 }) });
    expect(app.conversations[0]).toMatchObject({ id: 'c3', unreadCount: 4 });
    emit({ kind: 'conversationRemoved', conversationId: 'c1' });
    await flush();
    expect(app.selectedId).toBeNull();
    expect(app.conversations.map((c) => c.id)).toEqual(['c3', 'c2']);
  });

  it('shows typing for 6 s, and a message from the typist ends it', async () => {
    vi.useFakeTimers();
    const app = await signedIn();
    emit({ kind: 'typing', conversationId: 'c1', uid: 'u-jerry', name: 'Jerry', typing: true });
    expect(app.typingNames('c1')).toEqual(['Jerry']);
    vi.advanceTimersByTime(6100);
    expect(app.typingNames('c1')).toEqual([]);
    emit({ kind: 'typing', conversationId: 'c1', uid: 'u-jerry', name: 'Jerry', typing: true });
    emit({ kind: 'message', message: msg({ conversationId: 'c1', from: 'u-jerry' }) });
    expect(app.typingNames('c1')).toEqual([]);
  });

  it('follows the connection state', async () => {
    const app = await signedIn();
    emit({ kind: 'connection', state: { state: 'reconnecting', attempt: 2, delayMs: 3000 } });
    expect(app.connection).toEqual({ state: 'reconnecting', attempt: 2, delayMs: 3000 });
  });

  it('a signedOut event returns to the sign-in screen with the reason', async () => {
    const app = await signedIn();
    await app.select('c1');
    emit({ kind: 'signedOut', reason: 'Your session was revoked.' });
    expect(app.phase).toBe('auth');
    expect(app.signedOutReason).toBe('Your session was revoked.');
    expect(app.conversations).toEqual([]);
    expect(app.selectedId).toBeNull();
    // The sign-in form is prefilled with the last server and username.
    expect(app.lastServerUrl).toBe('ws://x');
    expect(app.lastUsername).toBe('tom');
  });

  it('a signedOut event without a reason still says so', async () => {
    const app = await signedIn();
    emit({ kind: 'signedOut', reason: '' });
    expect(app.phase).toBe('auth');
    expect(app.signedOutReason).toBe('');
  });

  it('error events become toasts', async () => {
    const app = await signedIn();
    emit({ kind: 'error', error: { code: 'internal', message: 'disk full' } });
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
  });

  it('a failed send keeps the composer text (send returns false) and shows the error', async () => {
    const app = await signedIn();
    responses.send_text = () => {
      throw { code: 'text_too_long', message: 'too long' };
    };
    expect(await app.send('c1', 'x')).toBe(false);
    expect(app.toasts.map((t) => t.text)).toEqual(['The message is too long.']);
  });
});

describe('notification clicks (openConversation)', () => {
  it('open that conversation: selected, loaded, and told to the backend', async () => {
    const app = await signedIn();
    await app.select('c1');
    emit({ kind: 'openConversation', conversationId: 'c2' });
    await flush();
    expect(app.selectedId).toBe('c2');
    expect(argsOf('set_active_conversation')).toEqual([{ conversationId: 'c1' }, { conversationId: 'c2' }]);
    expect(calls).toContainEqual({ cmd: 'load_messages', args: { conversationId: 'c2', beforeSeq: null, limit: 50 } });
  });

  it('are ignored when signed out', async () => {
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    emit({ kind: 'openConversation', conversationId: 'c2' });
    await flush();
    expect(app.selectedId).toBeNull();
    expect(count('set_active_conversation')).toBe(0);
    expect(count('load_messages')).toBe(0);
  });
});

describe('read ticks', () => {
  it('receipts from the other person raise peerReadSeq; mine and older ones do not', async () => {
    const app = await signedIn();
    emit({ kind: 'receipt', conversationId: 'c1', uid: 'u-jerry', readSeq: 5 });
    const c1 = () => app.conversations.find((c) => c.id === 'c1')!;
    expect(c1().peerReadSeq).toBe(5);
    emit({ kind: 'receipt', conversationId: 'c1', uid: 'u-tom', readSeq: 9 }); // my other device
    expect(c1().peerReadSeq).toBe(5);
    emit({ kind: 'receipt', conversationId: 'c1', uid: 'u-jerry', readSeq: 3 });
    expect(c1().peerReadSeq).toBe(5);
    emit({ kind: 'receipt', conversationId: 'nope', uid: 'u-jerry', readSeq: 3 });
    expect(app.conversations.map((c) => c.peerReadSeq)).toEqual([0, 5]);
  });

  it('conversation events carry peerReadSeq; a stale copy does not take a tick back', async () => {
    const app = await signedIn();
    const c1 = () => app.conversations.find((c) => c.id === 'c1')!;
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 3, peerReadSeq: 7 }) });
    expect(c1().peerReadSeq).toBe(7);
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 4, peerReadSeq: 6, unreadCount: 2 }) });
    expect(c1()).toMatchObject({ peerReadSeq: 7, unreadCount: 2, lastActivity: 4 });
  });

  it('own messages up to peerReadSeq show as read in a 1:1 chat', async () => {
    const app = await signedIn();
    const mine = (seq: number | null) =>
      msg({ conversationId: 'c1', seq, own: true, from: 'u-tom', status: seq === null ? 'sending' : 'sent' });
    responses.load_messages = () => ({ messages: [mine(1), mine(2), mine(3)], hasMore: false });
    await app.select('c1');
    const ticks = () => app.currentThread!.messages.map((m) => isReadByPeer(app.selected!, m));
    expect(ticks()).toEqual([false, false, false]);
    emit({ kind: 'receipt', conversationId: 'c1', uid: 'u-jerry', readSeq: 2 });
    expect(ticks()).toEqual([true, true, false]);
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 9, peerReadSeq: 3 }) });
    expect(ticks()).toEqual([true, true, true]);
  });
});

describe('resync', () => {
  it('reloads the list and the open conversation, merging by clientId without duplicates', async () => {
    const app = await signedIn();
    const m1 = msg({ conversationId: 'c1', seq: 1 });
    const m2 = msg({ conversationId: 'c1', seq: 2 });
    responses.load_messages = () => ({ messages: [m1, m2], hasMore: false });
    await app.select('c1');
    const pending = msg({ conversationId: 'c1', clientId: 'mine', id: null, seq: null, own: true, status: 'sending' });
    responses.send_text = () => pending;
    await app.send('c1', pending.text);
    expect(app.currentThread!.messages).toHaveLength(3);

    // Missed meanwhile: the ack of "mine", a new message, a new conversation; c2 was removed.
    const acked = { ...pending, id: 's3', seq: 3, status: 'sent' as const };
    const m4 = msg({ conversationId: 'c1', seq: 4 });
    responses.load_messages = () => ({ messages: [m2, acked, m4], hasMore: true });
    responses.list_conversations = () => [
      conv({ id: 'c1', lastActivity: 10, peerReadSeq: 3 }),
      conv({ id: 'c9', lastActivity: 5 }),
    ];
    calls.length = 0;
    emit({ kind: 'resync' });
    await flush();
    await flush();

    expect(argsOf('load_messages')).toEqual([{ conversationId: 'c1', beforeSeq: null, limit: 50 }]);
    expect(count('list_conversations')).toBe(1);
    const thread = app.currentThread!;
    expect(thread.messages.map((m) => m.clientId)).toEqual([m1.clientId, m2.clientId, 'mine', m4.clientId]);
    expect(thread.messages.map((m) => m.seq)).toEqual([1, 2, 3, 4]);
    expect(thread.messages[2]).toMatchObject({ status: 'sent', id: 's3' });
    expect(thread.hasMore).toBe(false); // we still hold the beginning (seq 1)
    expect(app.conversations.map((c) => c.id)).toEqual(['c1', 'c9']);
    expect(app.selected?.peerReadSeq).toBe(3);

    // The same resync again changes nothing.
    emit({ kind: 'resync' });
    await flush();
    await flush();
    expect(thread.messages).toHaveLength(4);
  });

  it('drops held history that the new page does not join up with (missed messages)', async () => {
    const app = await signedIn();
    const old = [msg({ conversationId: 'c1', seq: 10 }), msg({ conversationId: 'c1', seq: 11 })];
    responses.load_messages = () => ({ messages: old, hasMore: true });
    await app.select('c1');
    const page = [msg({ conversationId: 'c1', seq: 80 }), msg({ conversationId: 'c1', seq: 81 })];
    responses.load_messages = () => ({ messages: page, hasMore: true });
    emit({ kind: 'resync' });
    await flush();
    await flush();
    expect(app.currentThread!.messages.map((m) => m.seq)).toEqual([80, 81]);
    expect(app.currentThread!.hasMore).toBe(true);
  });

  it('without an open conversation only reloads the list; resyncs arriving meanwhile run once more', async () => {
    const app = await signedIn();
    calls.length = 0;
    emit({ kind: 'resync' });
    emit({ kind: 'resync' });
    emit({ kind: 'resync' });
    for (let i = 0; i < 4; i++) await flush();
    expect(count('list_conversations')).toBe(2);
    expect(count('load_messages')).toBe(0);
  });

  it('is ignored when signed out', async () => {
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    emit({ kind: 'resync' });
    await flush();
    expect(count('list_conversations')).toBe(0);
  });

  it('going back online no longer reloads by itself (the backend sends resync after its catch-up)', async () => {
    const app = await signedIn();
    emit({ kind: 'connection', state: { state: 'offline' } });
    calls.length = 0;
    emit({ kind: 'connection', state: { state: 'online' } });
    await flush();
    expect(app.connection.state).toBe('online');
    expect(count('list_conversations')).toBe(0);
  });
});

describe('read marking follows focus and visibility', () => {
  function fakeWindow() {
    const listeners: Record<string, (() => void)[]> = {};
    const addEventListener = (type: string, f: () => void) => (listeners[type] ??= []).push(f);
    const doc = { visibilityState: 'visible', focused: false, hasFocus: () => doc.focused, addEventListener };
    vi.stubGlobal('window', { addEventListener });
    vi.stubGlobal('document', doc);
    const fire = (type: string) => listeners[type]?.forEach((f) => f());
    return { doc, fire };
  }

  it('marks read only while focused and visible, and again when the window comes back', async () => {
    const { doc, fire } = fakeWindow();
    const app = await signedIn();
    responses.load_messages = () => ({
      messages: [msg({ conversationId: 'c1', seq: 1 }), msg({ conversationId: 'c1', seq: 2 })],
      hasMore: false,
    });
    await app.select('c1');
    expect(argsOf('mark_read')).toEqual([]); // not focused
    emit({ kind: 'message', message: msg({ conversationId: 'c1', seq: 3 }) });
    expect(argsOf('mark_read')).toEqual([]);

    doc.focused = true;
    fire('focus');
    expect(argsOf('mark_read')).toEqual([{ conversationId: 'c1', seq: 3 }]);

    doc.visibilityState = 'hidden'; // minimised
    emit({ kind: 'message', message: msg({ conversationId: 'c1', seq: 4 }) });
    expect(argsOf('mark_read')).toHaveLength(1);
    doc.visibilityState = 'visible';
    fire('visibilitychange');
    expect(argsOf('mark_read')).toEqual([
      { conversationId: 'c1', seq: 3 },
      { conversationId: 'c1', seq: 4 },
    ]);

    // Focused and visible: new messages are marked at once, and only once.
    emit({ kind: 'message', message: msg({ conversationId: 'c1', seq: 5 }) });
    fire('focus');
    expect(argsOf('mark_read')).toHaveLength(3);
    expect(argsOf('mark_read')[2]).toEqual({ conversationId: 'c1', seq: 5 });
  });
});

describe('the unread badge of the open conversation', () => {
  // The real backend answers mark_read without any event (the SDK moves the read mark in its
  // cache; the server tells only the user's other sessions), and the `conversation` event that
  // comes with an incoming message was computed before the UI could mark it read: unread 1.
  async function openC1(app: Awaited<ReturnType<typeof signedIn>>) {
    responses.load_messages = () => ({ messages: [msg({ conversationId: 'c1', seq: 4 })], hasMore: false });
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 5, readSeq: 4, lastSeq: 4 }) });
    await app.select('c1');
  }
  const incoming = (seq: number, unread: number) => {
    const m = msg({ conversationId: 'c1', seq, timestamp: 10 + seq });
    emit({ kind: 'message', message: m });
    emit({
      kind: 'conversation',
      conversation: conv({ id: 'c1', lastActivity: 10 + seq, lastMessage: m, lastSeq: seq, readSeq: 4, unreadCount: unread }),
    });
  };
  const badge = (app: Awaited<ReturnType<typeof signedIn>>) => app.conversations.find((c) => c.id === 'c1')!.unreadCount;

  it('stays 0 for a message read as it arrives, though the event with it still counts it unread', async () => {
    const app = await signedIn();
    await openC1(app);
    incoming(5, 1);
    expect(argsOf('mark_read')).toContainEqual({ conversationId: 'c1', seq: 5 });
    expect(badge(app)).toBe(0);
    expect(app.selected).toMatchObject({ unreadCount: 0, readSeq: 5 });
    // A list page computed before the mark (resync) does not bring it back either.
    responses.list_conversations = () => [conv({ id: 'c1', lastActivity: 15, lastSeq: 5, readSeq: 4, unreadCount: 1 })];
    await app.refreshConversations();
    expect(badge(app)).toBe(0);
    // A message beyond the mark still counts.
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 16, lastSeq: 6, readSeq: 4, unreadCount: 2 }) });
    expect(badge(app)).toBe(1);
  });

  it('counts up while the window is away and clears when it comes back', async () => {
    const listeners: Record<string, (() => void)[]> = {};
    const addEventListener = (type: string, f: () => void) => (listeners[type] ??= []).push(f);
    const doc = { visibilityState: 'visible', focused: true, hasFocus: () => doc.focused, addEventListener };
    vi.stubGlobal('window', { addEventListener });
    vi.stubGlobal('document', doc);
    const app = await signedIn();
    await openC1(app);
    doc.focused = false; // another window has the focus
    incoming(5, 1);
    incoming(6, 2);
    expect(badge(app)).toBe(2);
    expect(argsOf('mark_read')).toEqual([]);
    doc.focused = true;
    listeners.focus.forEach((f) => f());
    expect(argsOf('mark_read')).toEqual([{ conversationId: 'c1', seq: 6 }]);
    expect(badge(app)).toBe(0);
  });

  it('counts up while the view is scrolled up, away from the newest messages, and clears back at the bottom', async () => {
    const app = await signedIn();
    await openC1(app);
    app.setViewAtBottom('c1', false);
    incoming(5, 1);
    expect(badge(app)).toBe(1);
    expect(argsOf('mark_read')).toEqual([]);
    app.setViewAtBottom('c1', true);
    expect(argsOf('mark_read')).toEqual([{ conversationId: 'c1', seq: 5 }]);
    expect(badge(app)).toBe(0);
  });

  it('a mark the backend refused is sent again at the next occasion', async () => {
    const app = await signedIn();
    await openC1(app);
    responses.mark_read = () => Promise.reject({ code: 'internal', message: 'disk I/O error' });
    incoming(5, 1);
    await flush();
    expect(app.toasts.length).toBe(1);
    delete responses.mark_read;
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 15, lastSeq: 5, readSeq: 4, unreadCount: 1 }) });
    expect(argsOf('mark_read')).toEqual([
      { conversationId: 'c1', seq: 5 },
      { conversationId: 'c1', seq: 5 },
    ]);
    expect(badge(app)).toBe(0);
  });
});

describe('conversation list paging', () => {
  // A backend with many conversations, most recent first, paged like list_conversations.
  function serveConversations(total: number) {
    const all = Array.from({ length: total }, (_, i) => conv({ id: `s${i}`, lastActivity: 1_000_000 - i }));
    responses.list_conversations = (a: { offset?: number; limit?: number }) => {
      const offset = a?.offset ?? 0;
      const limit = Math.min(500, Math.max(1, a?.limit ?? 50));
      return all.slice(offset, offset + limit);
    };
    return all;
  }

  /** Boots with a saved session; animation frames are held until `paint()` (ui_ready after the second). */
  async function bootWithFrames(total: number) {
    const frames: (() => void)[] = [];
    vi.stubGlobal('requestAnimationFrame', (cb: () => void) => frames.push(cb));
    const all = serveConversations(total);
    responses.restore_session = () => account;
    const app = await freshApp();
    await app.boot();
    const paint = async () => {
      while (frames.length) frames.shift()!();
      await flush();
    };
    return { app, all, paint };
  }

  it('loads one page before ui_ready, however often more is asked for; the next pages after it', async () => {
    const { app, paint } = await bootWithFrames(10_000);
    expect(app.conversations).toHaveLength(50);
    expect(app.conversationsComplete).toBe(false);
    app.notifyReady(); // the list rendered
    await app.loadMoreConversations(); // e.g. the list does not fill the viewport
    await app.loadMoreConversations();
    await flush();
    expect(argsOf('list_conversations')).toEqual([{ offset: 0, limit: 50 }]);
    expect(count('ui_ready')).toBe(0);
    expect(app.ready).toBe(false);

    await paint(); // two frames: the first paint, then ui_ready
    await paint();
    expect(count('ui_ready')).toBe(1);
    expect(app.ready).toBe(true);
    await app.loadMoreConversations();
    expect(argsOf('list_conversations')).toEqual([
      { offset: 0, limit: 50 },
      { offset: 50, limit: 100 },
    ]);
    expect(app.conversations.map((c) => c.id).slice(48, 52)).toEqual(['s48', 's49', 's50', 's51']);
    expect(app.conversations).toHaveLength(150);
  });

  it('loads one next page at a time, from the number loaded, until a page comes back short', async () => {
    const { app, all, paint } = await bootWithFrames(260);
    app.notifyReady();
    await paint();
    await paint();
    const first = app.loadMoreConversations();
    const again = app.loadMoreConversations(); // while one is on its way: nothing
    await Promise.all([first, again]);
    await app.loadMoreConversations();
    expect(argsOf('list_conversations')).toEqual([
      { offset: 0, limit: 50 },
      { offset: 50, limit: 100 },
      { offset: 150, limit: 100 },
    ]);
    expect(app.conversationsComplete).toBe(false); // the last page was full: there may be more
    await app.loadMoreConversations(); // offset 250: 10 of 100
    expect(app.conversationsComplete).toBe(true);
    expect(app.conversations.map((c) => c.id)).toEqual(all.map((c) => c.id));
    await app.loadMoreConversations();
    expect(count('list_conversations')).toBe(4);
  });

  it('a failed page shows an error and is not retried at once', async () => {
    const { app, paint } = await bootWithFrames(1000);
    app.notifyReady();
    await paint();
    await paint();
    const ok = responses.list_conversations;
    responses.list_conversations = () => {
      throw { code: 'internal', message: 'cache locked' };
    };
    await app.loadMoreConversations();
    await app.loadMoreConversations();
    expect(count('list_conversations')).toBe(2);
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
    expect(app.loadingMoreConversations).toBe(false);
    responses.list_conversations = ok;
    expect(app.conversations).toHaveLength(50);
  });

  it('conversation events beyond the loaded pages: inserted if they sort above the last loaded item, else left to their page', async () => {
    const { app, all, paint } = await bootWithFrames(1000);
    app.notifyReady();
    await paint();
    await paint();
    const ids = () => app.conversations.map((c) => c.id);
    // s700 has an unread message but is still old: below s49, ignored.
    emit({ kind: 'conversation', conversation: { ...all[700], unreadCount: 1 } });
    expect(ids()).toHaveLength(50);
    expect(ids()).not.toContain('s700');
    // s800 gets a new message: now the most recent, shown on top.
    emit({ kind: 'conversation', conversation: { ...all[800], lastActivity: 2_000_000, unreadCount: 1 } });
    expect(ids().slice(0, 2)).toEqual(['s800', 's0']);
    expect(ids()).toHaveLength(51);
    // Between two loaded items: at its place.
    emit({ kind: 'conversation', conversation: { ...all[900], lastActivity: all[10].lastActivity - 0.5 } });
    expect(ids().slice(11, 14)).toEqual(['s10', 's900', 's11']);
    // A loaded one moves up.
    emit({ kind: 'conversation', conversation: { ...all[30], lastActivity: 3_000_000 } });
    expect(ids()[0]).toBe('s30');
    // The next page starts after what is held (52 items) and brings no duplicate.
    await app.loadMoreConversations();
    expect(argsOf('list_conversations').slice(-1)[0]).toEqual({ offset: 52, limit: 100 });
    expect(new Set(ids()).size).toBe(ids().length);
    expect(ids()).toHaveLength(152);
    expect(ids().slice(-1)[0]).toBe('s151');
  });

  it('an event arriving while a page is fetched is not undone by that page', async () => {
    const { app, all, paint } = await bootWithFrames(1000);
    app.notifyReady();
    await paint();
    await paint();
    const page = responses.list_conversations;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    responses.list_conversations = async (a) => {
      const answer = page(a); // the server's answer, before the events below
      await gate;
      return answer;
    };
    const loading = app.loadMoreConversations();
    await flush();
    emit({ kind: 'conversationRemoved', conversationId: 's60' });
    emit({ kind: 'conversation', conversation: { ...all[70], unreadCount: 9 } });
    release();
    await loading;
    const ids = app.conversations.map((c) => c.id);
    expect(ids).not.toContain('s60');
    expect(app.conversations.find((c) => c.id === 's70')?.unreadCount).toBe(9);
    expect(ids).toHaveLength(149);
  });

  it('resync reloads the first page only and merges it: loaded pages stay, nothing is duplicated', async () => {
    const { app, all, paint } = await bootWithFrames(1000);
    app.notifyReady();
    await paint();
    await paint();
    await app.loadMoreConversations();
    expect(app.conversations).toHaveLength(150);
    // Missed meanwhile: s3 removed, s120 moved to the top, a new conversation.
    const fresh = [conv({ id: 'n1', lastActivity: 5_000_000 }), { ...all[120], lastActivity: 4_000_000 }];
    const rest = all.filter((c) => c.id !== 's3' && c.id !== 's120');
    responses.list_conversations = (a: { offset?: number; limit?: number }) =>
      [...fresh, ...rest].slice(a.offset ?? 0, (a.offset ?? 0) + (a.limit ?? 50));
    calls.length = 0;
    emit({ kind: 'resync' });
    await flush();
    await flush();
    expect(argsOf('list_conversations')).toEqual([{ offset: 0, limit: 50 }]);
    const ids = app.conversations.map((c) => c.id);
    expect(ids.slice(0, 4)).toEqual(['n1', 's120', 's0', 's1']);
    expect(ids).not.toContain('s3');
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toHaveLength(150); // +n1, s120 moved, -s3: the loaded pages below stay
    expect(ids.slice(-1)[0]).toBe('s149');
    expect(app.conversationsComplete).toBe(false);
  });

  it('opens an existing chat found by "new chat" even when it is beyond the loaded pages', async () => {
    const { app, all, paint } = await bootWithFrames(1000);
    app.notifyReady();
    await paint();
    await paint();
    responses.create_conversation = () => all[600];
    await app.createConversation(['u-x'], '', true);
    expect(app.selectedId).toBe('s600');
    expect(app.selected?.id).toBe('s600');
    expect(app.conversations.map((c) => c.id)).not.toContain('s600'); // it comes with its page
    emit({ kind: 'conversation', conversation: { ...all[600], unreadCount: 0, peerReadSeq: 4 } });
    expect(app.selected?.peerReadSeq).toBe(4);
    emit({ kind: 'receipt', conversationId: 's600', uid: 'u-jerry', readSeq: 6 });
    expect(app.selected?.peerReadSeq).toBe(6);
  });
});

/** A command whose answer is held until `release()` (the backend computed it; it is on its way). */
function gated<T>(answer: T) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  return { respond: async () => (await gate, answer), release };
}

describe('command answers overtaken by events (they travel separately)', () => {
  it('keeps a message that an event brought while the first page was loading', async () => {
    const app = await signedIn();
    const page = gated({ messages: [msg({ conversationId: 'c1', seq: 1 })], hasMore: false });
    responses.load_messages = page.respond;
    const opening = app.select('c1');
    await flush();
    // The page was read before seq 2 existed; its event arrives first.
    emit({ kind: 'message', message: msg({ conversationId: 'c1', seq: 2 }) });
    page.release();
    await opening;
    expect(app.currentThread!.messages.map((m) => m.seq)).toEqual([1, 2]);
    expect(argsOf('mark_read')).toEqual([{ conversationId: 'c1', seq: 2 }]);
  });

  it('does not let a page undo a failure that arrived while it was fetched', async () => {
    const app = await signedIn();
    const sending = msg({ conversationId: 'c1', clientId: 'mine', id: null, seq: null, own: true, status: 'sending' });
    responses.load_messages = () => ({ messages: [msg({ conversationId: 'c1', seq: 1 }), sending], hasMore: false });
    await app.select('c1');
    const page = gated({ messages: [msg({ conversationId: 'c1', seq: 1 }), sending], hasMore: false });
    responses.load_messages = page.respond;
    emit({ kind: 'resync' });
    await flush();
    emit({ kind: 'message', message: { ...sending, status: 'failed', error: { code: 'internal', message: 'timeout' } } });
    page.release();
    await flush();
    expect(app.currentThread!.messages.find((m) => m.clientId === 'mine')?.status).toBe('failed');
  });

  it('does not let the answer of send_text undo the ack that overtook it', async () => {
    const app = await signedIn();
    await app.select('c1');
    const sending = msg({ conversationId: 'c1', clientId: 'mine', id: null, seq: null, own: true, status: 'sending', timestamp: 5 });
    const answer = gated(sending);
    responses.send_text = answer.respond;
    const sent = app.send('c1', 'hi');
    await flush();
    const acked = { ...sending, seq: 9, id: 's9', status: 'sent' as const };
    emit({ kind: 'message', message: acked });
    emit({ kind: 'conversation', conversation: conv({ id: 'c1', lastActivity: 5, lastMessage: acked, lastSeq: 9 }) });
    answer.release();
    expect(await sent).toBe(true);
    expect(app.currentThread!.messages).toMatchObject([{ clientId: 'mine', status: 'sent', seq: 9 }]);
    expect(app.conversations.find((c) => c.id === 'c1')?.lastMessage).toMatchObject({ status: 'sent', seq: 9 });
  });

  it('does not let the answer of retry_send undo the failure that overtook it', async () => {
    const app = await signedIn();
    const failed = msg({ conversationId: 'c1', clientId: 'mine', id: null, seq: null, own: true, status: 'failed' });
    responses.load_messages = () => ({ messages: [failed], hasMore: false });
    await app.select('c1');
    const answer = gated({ ...failed, status: 'sending' as const, error: null });
    responses.retry_send = answer.respond;
    const retrying = app.retry(failed);
    await flush();
    emit({ kind: 'message', message: { ...failed, error: { code: 'internal', message: 'again' } } });
    answer.release();
    await retrying;
    expect(app.currentThread!.messages[0]).toMatchObject({ status: 'failed', error: { message: 'again' } });
  });

  it('create_conversation: a conversation event that arrived meanwhile wins over the answer', async () => {
    const app = await signedIn();
    const answer = gated(conv({ id: 'c2', lastActivity: 2, unreadCount: 0 }));
    responses.create_conversation = answer.respond;
    const creating = app.createConversation(['u-jerry'], '', true);
    await flush();
    emit({ kind: 'conversation', conversation: conv({ id: 'c2', lastActivity: 7, unreadCount: 1 }) });
    answer.release();
    await creating;
    expect(app.selectedId).toBe('c2');
    expect(app.conversations.find((c) => c.id === 'c2')).toMatchObject({ lastActivity: 7 });
  });
});

describe('sign out', () => {
  it('passes forgetData to sign_out (false unless asked) and returns to the sign-in screen', async () => {
    let app = await signedIn();
    await app.signOut();
    expect(argsOf('sign_out')).toEqual([{ forgetData: false }]);
    expect(app.phase).toBe('auth');
    calls.length = 0;
    app = await signedIn();
    await app.select('c1');
    await app.signOut({ forgetData: true });
    expect(argsOf('sign_out')).toEqual([{ forgetData: true }]);
    expect(app.phase).toBe('auth');
    expect(app.conversations).toEqual([]);
    expect(app.threads.size).toBe(0);
    expect(app.lastUsername).toBe('tom');
  });

  it('still signs out locally when the backend reports a problem (shown as a toast)', async () => {
    const app = await signedIn();
    responses.sign_out = () => {
      throw { code: 'internal', message: 'could not delete the cache' };
    };
    await app.signOut({ forgetData: true });
    expect(app.phase).toBe('auth');
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
  });
});

describe('no silent failures', () => {
  const boom = () => {
    throw { code: 'internal', message: 'boom' };
  };

  it('a failed set_active_conversation is reported', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const app = await signedIn();
    responses.set_active_conversation = boom;
    await app.select('c1');
    await flush();
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
    expect(error).toHaveBeenCalled();
    error.mockRestore();
  });

  it('a failed connection_state after signing in is reported', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    responses.restore_session = () => null;
    const app = await freshApp();
    await app.boot();
    responses.sign_in = () => account;
    responses.connection_state = boom;
    await app.signIn({ serverUrl: 'ws://x', username: 'tom', password: 'p' });
    await flush();
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
    error.mockRestore();
  });

  it('set_typing and ui_ready failures are logged, not toasted', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const app = await signedIn();
    responses.set_typing = boom;
    responses.ui_ready = boom;
    app.setTyping('c1', true);
    app.notifyReady();
    for (let i = 0; i < 4; i++) await flush();
    expect(count('ui_ready')).toBe(1);
    expect(app.toasts).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(2);
    warn.mockRestore();
  });

  it('the same error is not shown twice at once', async () => {
    const app = await signedIn();
    emit({ kind: 'error', error: { code: 'internal', message: 'disk full' } });
    emit({ kind: 'error', error: { code: 'internal', message: 'disk full' } });
    emit({ kind: 'error', error: { code: 'storage_full', message: 'disk full' } });
    expect(app.toasts.map((t) => t.text)).toEqual([
      'Something went wrong on the server. Try again.',
      "The server's storage is full, so nothing was saved. Try again later; unsent messages are sent again by themselves.",
    ]);
  });

  it('unexpected errors are worded, with their message', async () => {
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const app = await signedIn();
    app.report(new TypeError("Cannot read properties of undefined (reading 'text')"), 'test');
    app.report(undefined);
    expect(app.toasts.map((t) => t.text)).toEqual([
      "Something went wrong: Cannot read properties of undefined (reading 'text')",
      'Something went wrong.',
    ]);
    error.mockRestore();
  });
});
