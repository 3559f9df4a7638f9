// The stores' side of muting, leaving and blocking, against a fake backend: the blocked list
// (loading it at the right times without a toast storm offline, events and answers), mute
// answers and events, leaving a group (and being added back), the "added you to" notices.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConversationItem, UserInfo } from '../api';
import { conv } from './fixtures';

const backend = await vi.hoisted(async () => (await import('./fakeBackend')).fakeBackend());
const { calls, responses, emit, count } = backend;

vi.mock('../api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../api')>();
  const { calls, responses } = backend;
  return backend.api(real, {
    bootstrap: async () => {
      calls.push({ cmd: 'bootstrap' });
      const args = { offset: 0, limit: real.CONVERSATIONS_FIRST_PAGE };
      calls.push({ cmd: 'list_conversations', args });
      const conversations = await responses.list_conversations(args);
      return {
        info: { version: '1', profile: null, defaultServerUrl: 'ws://x', maxTextChars: 4096 },
        account,
        error: null,
        conversations,
        connection: responses.connection_state({}),
      };
    },
  });
});

const account = { uid: 'u-tom', username: 'tom', displayName: 'Tom', serverUrl: 'ws://x' };
const jerry: UserInfo = { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' };
const spike: UserInfo = { uid: 'u-spike', username: 'spike', displayName: 'Spike' };
const tom: UserInfo = { uid: 'u-tom', username: 'tom', displayName: 'Tom' };
const chat = conv({ id: 'c1', lastActivity: 3 });
const group = conv({ id: 'g1', type: 'GROUP_CHAT', title: 'Club', displayTitle: 'Club', lastActivity: 2, userIds: ['u-tom', 'u-jerry', 'u-spike'] });

const flush = async (n = 4) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setTimeout(r, 0));
};

/** A command whose answer the test gives (or refuses) when it wants. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

let list: ConversationItem[] = [];

beforeEach(() => {
  list = [chat, group];
  backend.reset({
    connection_state: () => ({ state: 'online' }),
    list_conversations: () => list,
    load_messages: () => ({ messages: [], hasMore: false }),
    blocked_users: () => [],
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function signedIn() {
  vi.resetModules();
  const { app } = await import('../store.svelte');
  await app.boot();
  await flush();
  return app;
}

describe('the blocked list', () => {
  it('is loaded after signing in, and follows blockChanged events (most recently blocked first)', async () => {
    responses.blocked_users = () => [spike];
    const app = await signedIn();
    expect(count('blocked_users')).toBeGreaterThanOrEqual(1);
    expect(app.isBlocked('u-spike')).toBe(true);
    expect(app.blocks.loaded).toBe(true);
    // Blocked on another device: named after the 1:1 peer the list knows.
    emit({ kind: 'blockChanged', uid: 'u-jerry', blocked: true });
    expect(app.blocks.list).toEqual([jerry, spike]);
    emit({ kind: 'blockChanged', uid: 'u-spike', blocked: false });
    expect(app.blocks.list).toEqual([jerry]);
    expect(app.isBlocked('u-spike')).toBe(false);
  });

  it('offline at sign-in: no toast, and it is loaded when the connection comes back', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    responses.connection_state = () => ({ state: 'connecting' });
    responses.blocked_users = () => {
      throw { code: 'offline', message: 'not connected' };
    };
    const app = await signedIn();
    expect(app.blocks.loaded).toBe(false);
    // The connection flaps without ever getting online: nothing more is tried, nothing is toasted.
    emit({ kind: 'connection', state: { state: 'reconnecting', attempt: 1, delayMs: 1000 } });
    emit({ kind: 'connection', state: { state: 'offline' } });
    await flush();
    expect(app.toasts).toEqual([]);
    expect(count('blocked_users')).toBe(1);
    expect(warn).toHaveBeenCalled();

    responses.blocked_users = () => [spike];
    emit({ kind: 'connection', state: { state: 'online' } });
    await flush();
    expect(count('blocked_users')).toBe(2);
    expect(app.isBlocked('u-spike')).toBe(true);
    // Online again later: loaded already (the resync that follows a reconnect reloads it).
    emit({ kind: 'connection', state: { state: 'offline' } });
    emit({ kind: 'connection', state: { state: 'online' } });
    await flush();
    expect(count('blocked_users')).toBe(2);
    expect(app.toasts).toEqual([]);
  });

  it('is loaded once at sign-in', async () => {
    await signedIn();
    expect(count('blocked_users')).toBe(1);
  });

  it('the connection comes back while a load is failing: it is tried again', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    responses.connection_state = () => ({ state: 'connecting' });
    const first = deferred<UserInfo[]>();
    responses.blocked_users = () => first.promise;
    const app = await signedIn();
    responses.blocked_users = () => [jerry];
    emit({ kind: 'connection', state: { state: 'online' } });
    first.reject({ code: 'disconnected', message: 'the connection closed' });
    await flush();
    expect(count('blocked_users')).toBe(2);
    expect(app.blocks.list).toEqual([jerry]);
    expect(app.toasts).toEqual([]);
  });

  it('a failure that is not about the connection is shown once', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    responses.blocked_users = () => {
      throw { code: 'internal', message: 'the cache is locked' };
    };
    const app = await signedIn();
    emit({ kind: 'resync' });
    emit({ kind: 'resync' });
    await flush();
    expect(app.toasts.map((t) => t.text)).toEqual(['Something went wrong on the server. Try again.']);
  });

  it('is reloaded on resync', async () => {
    const app = await signedIn();
    const before = count('blocked_users');
    responses.blocked_users = () => [jerry];
    emit({ kind: 'resync' });
    await flush();
    expect(count('blocked_users')).toBe(before + 1);
    expect(app.blocks.list).toEqual([jerry]);
  });

  it('a load does not undo what events said while it was on its way', async () => {
    const app = await signedIn();
    const answer = deferred<UserInfo[]>();
    responses.blocked_users = () => answer.promise;
    const loading = app.loadBlocked();
    emit({ kind: 'blockChanged', uid: 'u-jerry', blocked: true });
    emit({ kind: 'blockChanged', uid: 'u-spike', blocked: false });
    answer.resolve([spike]); // read before both
    expect(await loading).toBe(true);
    expect(app.blocks.list).toEqual([jerry]);
  });

  it('block / unblock: the answer applies, unless an event about that person overtook it', async () => {
    const app = await signedIn();
    expect(await app.blockUser(spike)).toBe(true);
    expect(calls).toContainEqual({ cmd: 'block_user', args: { uid: 'u-spike' } });
    expect(app.blocks.list).toEqual([spike]);

    const answer = deferred<null>();
    responses.unblock_user = () => answer.promise;
    const unblocking = app.unblockUser('u-spike');
    // Blocked again from another device after this unblock: that event is the newer word.
    emit({ kind: 'blockChanged', uid: 'u-spike', blocked: false });
    emit({ kind: 'blockChanged', uid: 'u-spike', blocked: true });
    answer.resolve(null);
    expect(await unblocking).toBe(true);
    expect(app.isBlocked('u-spike')).toBe(true);
  });

  it('a refused block is a toast with the backend’s words', async () => {
    const app = await signedIn();
    responses.block_user = () => {
      throw { code: 'offline', message: 'not connected to the server' };
    };
    expect(await app.blockUser(spike)).toBe(false);
    expect(app.isBlocked('u-spike')).toBe(false);
    expect(app.toasts.map((t) => t.text)).toEqual(['You are offline. Try again once you are connected.']);
  });

  it('is forgotten on signing out', async () => {
    responses.blocked_users = () => [spike];
    const app = await signedIn();
    await app.signOut();
    expect(app.blocks.list).toEqual([]);
    expect(app.blocks.loaded).toBe(false);
  });
});

describe('mute', () => {
  it('the answer marks the conversation muted (and unmuted)', async () => {
    const app = await signedIn();
    expect(await app.setMuted('c1', true)).toBe(true);
    expect(calls).toContainEqual({ cmd: 'set_muted', args: { conversationId: 'c1', muted: true } });
    expect(app.conversationById('c1')?.muted).toBe(true);
    expect(await app.setMuted('c1', false)).toBe(true);
    expect(app.conversationById('c1')?.muted).toBe(false);
  });

  it('a conversation event that came first is the newer word', async () => {
    const app = await signedIn();
    const answer = deferred<null>();
    responses.set_muted = () => answer.promise;
    const muting = app.setMuted('c1', true);
    emit({ kind: 'conversation', conversation: { ...chat, muted: true } }); // this mute
    emit({ kind: 'conversation', conversation: { ...chat, muted: false } }); // unmuted elsewhere
    answer.resolve(null);
    await muting;
    expect(app.conversationById('c1')?.muted).toBe(false);
  });

  it('a failure is a toast and changes nothing', async () => {
    const app = await signedIn();
    responses.set_muted = () => {
      throw { code: 'offline', message: 'not connected to the server' };
    };
    expect(await app.setMuted('c1', true)).toBe(false);
    expect(app.conversationById('c1')?.muted).toBe(false);
    expect(app.toasts.map((t) => t.text)).toEqual(['You are offline. Try again once you are connected.']);
  });

  it('the open conversation follows too, even when it is not in the loaded list', async () => {
    const app = await signedIn();
    const far = conv({ id: 'far', lastActivity: 1 });
    app.list.remember(far);
    await app.select('far');
    await app.setMuted('far', true);
    expect(app.selected?.muted).toBe(true);
  });
});

describe('leaving a group', () => {
  it('drops it from the list, closes it, and asks for the list again', async () => {
    const app = await signedIn();
    await app.select('g1');
    list = [chat];
    const before = count('list_conversations');
    expect(await app.leaveConversation('g1')).toBe(true);
    expect(calls).toContainEqual({ cmd: 'leave_conversation', args: { conversationId: 'g1' } });
    expect(app.conversations.map((c) => c.id)).toEqual(['c1']);
    expect(app.selectedId).toBeNull();
    await flush();
    expect(count('list_conversations')).toBe(before + 1);
    expect(app.conversations.map((c) => c.id)).toEqual(['c1']);
  });

  it('an event sent before the leave and arriving after its answer does not bring it back', async () => {
    const app = await signedIn();
    list = [chat];
    await app.leaveConversation('g1');
    await flush();
    emit({ kind: 'conversation', conversation: { ...group, unreadCount: 1 } });
    await flush();
    expect(app.conversations.map((c) => c.id)).toEqual(['c1']);
  });

  it('added back after leaving: the list says so, and the notice shows', async () => {
    const app = await signedIn();
    list = [chat];
    await app.leaveConversation('g1');
    await flush();
    list = [chat, group];
    emit({ kind: 'conversation', conversation: group });
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: jerry });
    expect(app.notices).toEqual([]); // not before the list has spoken
    await flush();
    expect(app.conversations.map((c) => c.id)).toEqual(['c1', 'g1']);
    expect(app.notices.map((n) => n.conversationId)).toEqual(['g1']);
    // From now on its events apply as usual.
    emit({ kind: 'conversation', conversation: { ...group, unreadCount: 3 } });
    expect(app.conversationById('g1')?.unreadCount).toBe(3);
  });

  it('added back: a page asked for before the newer one that showed it does not drop it', async () => {
    const app = await signedIn();
    list = [chat];
    await app.leaveConversation('g1');
    await flush();
    const older = deferred<ConversationItem[]>();
    responses.list_conversations = () => older.promise;
    emit({ kind: 'resync' }); // its page was read before the user was added back
    responses.list_conversations = () => [chat, group];
    emit({ kind: 'conversation', conversation: group });
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: jerry });
    await flush();
    expect(app.conversations.map((c) => c.id)).toEqual(['c1', 'g1']);
    older.resolve([chat]);
    await flush();
    expect(app.conversations.map((c) => c.id)).toEqual(['c1', 'g1']);
    expect(app.notices.map((n) => n.conversationId)).toEqual(['g1']);
  });

  it('its notice goes with it', async () => {
    const app = await signedIn();
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: jerry });
    expect(app.notices).toHaveLength(1);
    list = [chat];
    await app.leaveConversation('g1');
    await flush();
    expect(app.notices).toEqual([]);
  });

  it('a refusal is a toast; the group stays', async () => {
    const app = await signedIn();
    responses.leave_conversation = () => {
      throw { code: 'offline', message: 'not connected to the server' };
    };
    expect(await app.leaveConversation('g1')).toBe(false);
    expect(app.conversations.map((c) => c.id)).toEqual(['c1', 'g1']);
    expect(app.toasts.map((t) => t.text)).toEqual(['You are offline. Try again once you are connected.']);
  });

  it('a conversationRemoved event for it (from the backend) is harmless', async () => {
    const app = await signedIn();
    list = [chat];
    await app.leaveConversation('g1');
    emit({ kind: 'conversationRemoved', conversationId: 'g1' });
    await flush();
    expect(app.conversations.map((c) => c.id)).toEqual(['c1']);
  });
});

describe('"added you to" notices', () => {
  it('one per group, the newest replacing an older one; gone with the group; dismissable', async () => {
    const app = await signedIn();
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: jerry });
    emit({ kind: 'addedToGroup', conversationId: 'g2', title: '', by: spike });
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: tom });
    expect(app.notices.map((n) => [n.conversationId, n.by.username])).toEqual([
      ['g2', 'spike'],
      ['g1', 'tom'],
    ]);
    emit({ kind: 'conversationRemoved', conversationId: 'g2' });
    expect(app.notices.map((n) => n.conversationId)).toEqual(['g1']);
    app.dismissNotice(app.notices[0].id);
    expect(app.notices).toEqual([]);
  });

  it('shows the newest four at once; the others wait', async () => {
    const app = await signedIn();
    for (let i = 1; i <= 6; i++) emit({ kind: 'addedToGroup', conversationId: `g${i}`, title: `G${i}`, by: jerry });
    expect(app.notices).toHaveLength(6);
    expect(app.shownNotices.map((n) => n.conversationId)).toEqual(['g3', 'g4', 'g5', 'g6']);
    app.dismissNotice(app.shownNotices[3].id);
    expect(app.shownNotices.map((n) => n.conversationId)).toEqual(['g2', 'g3', 'g4', 'g5']);
  });

  it('tolerates a sender without a username (shown by name only)', async () => {
    const app = await signedIn();
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: { uid: 'u-x', username: '', displayName: 'X' } });
    expect(app.notices[0].by).toEqual({ uid: 'u-x', username: '', displayName: 'X' });
  });

  it('are forgotten on signing out', async () => {
    const app = await signedIn();
    emit({ kind: 'addedToGroup', conversationId: 'g1', title: 'Club', by: jerry });
    app.askLeave('g1', 'Club');
    await app.signOut();
    expect(app.notices).toEqual([]);
    expect(app.leaveRequest).toBeNull();
  });
});
