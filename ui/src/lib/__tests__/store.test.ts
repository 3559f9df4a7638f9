// The app state wired to a fake backend: boot paths, event handling, read marking, typing expiry.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ImEvent } from '../api';
import { conv, msg } from './fixtures';

const calls: { cmd: string; args?: unknown }[] = [];
let handler: ((e: ImEvent) => void) | null = null;
let responses: Record<string, (args: any) => unknown> = {};

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  const call = (cmd: string) => async (args?: unknown) => {
    calls.push({ cmd, args });
    const f = responses[cmd];
    return f ? f(args) : null;
  };
  return {
    ...real,
    onImEvent: async (h: (e: ImEvent) => void) => {
      handler = h;
      return () => {};
    },
    appInfo: call('app_info'),
    restoreSession: call('restore_session'),
    signIn: call('sign_in'),
    signUp: call('sign_up'),
    signOut: call('sign_out'),
    listConversations: call('list_conversations'),
    createConversation: call('create_conversation'),
    loadMessages: call('load_messages'),
    sendText: call('send_text'),
    retrySend: call('retry_send'),
    markRead: call('mark_read'),
    setTyping: call('set_typing'),
    setActiveConversation: call('set_active_conversation'),
    connectionState: call('connection_state'),
    uiReady: call('ui_ready'),
  };
});

const account = { uid: 'u-tom', username: 'tom', displayName: 'Tom', serverUrl: 'ws://x' };

async function freshApp() {
  vi.resetModules();
  const mod = await import('../store.svelte');
  return mod.app;
}

const emit = (e: ImEvent) => handler!(e);
const flush = () => new Promise((r) => setTimeout(r, 0));

beforeEach(() => {
  calls.length = 0;
  handler = null;
  responses = {
    app_info: () => ({ version: '1', profile: null, defaultServerUrl: 'ws://x' }),
    connection_state: () => ({ state: 'online' }),
    list_conversations: () => [],
    load_messages: () => ({ messages: [], hasMore: false }),
  };
});

afterEach(() => {
  vi.useRealTimers();
});

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

  it('restores a session and loads the conversations, most recent first', async () => {
    responses.restore_session = () => account;
    responses.list_conversations = () => [conv({ id: 'old', lastActivity: 1 }), conv({ id: 'new', lastActivity: 9 })];
    const app = await freshApp();
    await app.boot();
    expect(app.phase).toBe('main');
    expect(app.conversations.map((c) => c.id)).toEqual(['new', 'old']);
    app.notifyReady();
    app.notifyReady();
    expect(calls.filter((c) => c.cmd === 'ui_ready')).toHaveLength(1);
  });
});

describe('signed in', () => {
  async function signedIn() {
    responses.restore_session = () => account;
    responses.list_conversations = () => [conv({ id: 'c1', lastActivity: 1 }), conv({ id: 'c2', lastActivity: 2 })];
    const app = await freshApp();
    await app.boot();
    return app;
  }

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
    emit({ kind: 'signedOut', reason: 'session revoked' });
    expect(app.phase).toBe('auth');
    expect(app.signedOutReason).toBe('session revoked');
    expect(app.conversations).toEqual([]);
    expect(app.selectedId).toBeNull();
  });

  it('error events become toasts', async () => {
    const app = await signedIn();
    emit({ kind: 'error', error: { code: 'internal', message: 'disk full' } });
    expect(app.toasts.map((t) => t.text)).toEqual(['disk full']);
  });

  it('a failed send keeps the composer text (send returns false) and shows the error', async () => {
    const app = await signedIn();
    responses.send_text = () => {
      throw { code: 'text_too_long', message: 'too long' };
    };
    expect(await app.send('c1', 'x')).toBe(false);
    expect(app.toasts.map((t) => t.text)).toEqual(['too long']);
  });
});
