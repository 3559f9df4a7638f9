// An in-memory stand-in for the Rust backend, used only outside Tauri (plain browser,
// `npm run dev`). Loaded with a dynamic import, so the app inside Tauri never fetches it.
//
// URL switches: `?mock=signedin` starts signed in, `?mock=keyring` makes restore_session,
// sign_in and sign_up fail with keyring_unavailable, `?maxchars=N` sets app_info().maxTextChars,
// `?convs=N` adds N older conversations (to try the paged, virtual list), `?listlimit=N` makes
// list_conversations answer N items whatever limit was asked (to measure a big first page).
// Sending a text containing "fail" fails it (Retry then succeeds); "/reconnect" plays a reconnect
// sequence (ending with a resync), "/resync" adds messages without events and then sends a
// resync, "/signout" makes the server sign you out. Jerry reads (read ticks) and answers in the
// 1:1 chat.
import type {
  Account,
  AppError,
  Backend,
  ConnectionState,
  ConversationItem,
  ImEvent,
  UiMessage,
  UserInfo,
} from './api';
import { compareConversations } from './conversations';

type Conv = {
  id: string;
  type: ConversationItem['type'];
  title: string;
  managerId: string;
  userIds: string[];
  messages: UiMessage[];
  readSeq: number;
  peerReadSeq: number;
  createdAt?: number; // the activity of a conversation without messages
};

const err = (code: string, message: string): AppError => ({ code, message });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let counter = 0;
const newId = () => (Date.now().toString(16) + (counter++).toString(16) + Math.random().toString(16).slice(2)).slice(0, 32).padEnd(32, '0');

export function createMockBackend(): Backend {
  const params = new URLSearchParams(location.search);
  const maxTextChars = Number(params.get('maxchars')) || 4096;
  const extraConvs = Math.max(0, Math.floor(Number(params.get('convs')) || 0));
  const forcedLimit = Math.floor(Number(params.get('listlimit')) || 0);
  const keyringBroken = params.get('mock') === 'keyring';
  const keyringError = () =>
    err('keyring_unavailable', 'no Secret Service provider is running (org.freedesktop.secrets)');
  const handlers = new Set<(e: ImEvent) => void>();
  const emit = (e: ImEvent) => setTimeout(() => handlers.forEach((h) => h(e)), 0);

  const users: UserInfo[] = [
    { uid: 'u-tom', username: 'tom', displayName: 'Tom' },
    { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' },
    { uid: 'u-spike', username: 'spike', displayName: 'Spike' },
    { uid: 'u-tyke', username: 'tyke', displayName: 'Tyke' },
  ];
  const me = users[0];
  let account: Account | null = null;
  let online = false;
  const convs = new Map<string, Conv>();
  const name = (uid: string) => users.find((u) => u.uid === uid)?.displayName ?? uid;

  const msg = (c: Conv, from: string, text: string, timestamp: number): UiMessage => {
    const seq = c.messages.reduce((s, x) => Math.max(s, x.seq ?? 0), 0) + 1;
    const m: UiMessage = {
      conversationId: c.id, clientId: newId(), id: newId(), seq, from, fromName: name(from),
      own: from === me.uid, text, timestamp, status: 'sent', error: null,
    };
    c.messages.push(m);
    return m;
  };

  // Seed: a long 1:1 history, a group, a short chat.
  const now = Date.now();
  const jerry: Conv = { id: 'c-jerry', type: 'SINGLE_CHAT', title: '', managerId: me.uid, userIds: [me.uid, 'u-jerry'], messages: [], readSeq: 0, peerReadSeq: 0 };
  const lines = ['Hi Tom!', 'Where is the cheese?', 'Not telling 🧀', 'I will find it.', 'Good luck with that.', '你好，今天吃什么？', 'A longer message that wraps over more than one line, to see how the bubbles handle a paragraph of text in the message view.'];
  for (let i = 0; i < 2000; i++) {
    const from = i % 3 === 0 ? me.uid : 'u-jerry';
    msg(jerry, from, `${lines[i % lines.length]} (#${i + 1})`, now - (2000 - i) * 40 * 60_000);
  }
  jerry.readSeq = 1995;
  msg(jerry, me.uid, 'Did you read this? (not yet: a single tick)', now - 5 * 60_000);
  const group: Conv = { id: 'c-group', type: 'GROUP_CHAT', title: 'Cat & Mouse Club', managerId: me.uid, userIds: [me.uid, 'u-jerry', 'u-spike'], messages: [], readSeq: 0, peerReadSeq: 0 };
  msg(group, 'u-spike', 'Meeting at noon.', now - 3 * 86_400_000);
  msg(group, 'u-jerry', 'I will bring snacks.', now - 3 * 86_400_000 + 60_000);
  msg(group, me.uid, 'Count me in.\nSecond line.', now - 2 * 86_400_000);
  msg(group, 'u-spike', 'Great, see you all!', now - 50 * 60_000);
  const spike: Conv = { id: 'c-spike', type: 'SINGLE_CHAT', title: '', managerId: 'u-spike', userIds: [me.uid, 'u-spike'], messages: [], readSeq: 1, peerReadSeq: 0 };
  msg(spike, 'u-spike', 'Keep it down, Tom.', now - 40 * 86_400_000);
  for (const c of [jerry, group, spike]) convs.set(c.id, c);
  // `?convs=N`: many older conversations, one message each, some unread.
  const others = users.slice(1);
  for (let i = 0; i < extraConvs; i++) {
    const peer = others[i % others.length];
    const single = i % 5 !== 0;
    const c: Conv = {
      id: `c-x${i}`, type: single ? 'SINGLE_CHAT' : 'GROUP_CHAT', title: single ? `${peer.displayName} ${i + 1}` : `Group ${i + 1}`,
      managerId: me.uid, userIds: single ? [me.uid, peer.uid] : [me.uid, ...others.map((u) => u.uid)],
      messages: [], readSeq: i % 7 === 0 ? 0 : 1, peerReadSeq: 0,
    };
    msg(c, i % 3 === 0 ? me.uid : peer.uid, `Conversation ${i + 1}: ${lines[i % lines.length]}`, now - 60 * 60_000 - i * 17 * 60_000);
    convs.set(c.id, c);
  }

  const item = (c: Conv): ConversationItem => {
    const last = c.messages[c.messages.length - 1] ?? null;
    const other = c.userIds.find((u) => u !== me.uid);
    return {
      id: c.id, type: c.type, title: c.title,
      displayTitle: c.title || (c.type === 'SINGLE_CHAT' && other ? name(other) : c.userIds.map(name).join(', ')),
      managerId: c.managerId, userIds: c.userIds, lastMessage: last,
      unreadCount: c.messages.filter((m) => m.seq !== null && m.seq > c.readSeq && !m.own).length,
      readSeq: c.readSeq,
      // Others' read marks; a member's own message counts as read up to it.
      peerReadSeq: c.messages.reduce((s, m) => (!m.own && m.seq !== null ? Math.max(s, m.seq) : s), c.peerReadSeq),
      lastSeq: c.messages.reduce((s, m) => Math.max(s, m.seq ?? 0), 0),
      lastActivity: last?.timestamp ?? c.createdAt ?? 0,
    };
  };
  const conv = (id: unknown) => {
    const c = convs.get(String(id));
    if (!c) throw err('conversation_not_found', 'no conversation has that id');
    return c;
  };
  const needAccount = () => {
    if (!account) throw err('unauthenticated', 'sign in first');
    return account;
  };
  const setConn = (state: ConnectionState) => {
    online = state.state === 'online';
    emit({ kind: 'connection', state });
  };
  const connect = () => {
    setConn({ state: 'connecting' });
    setTimeout(() => {
      setConn({ state: 'online' });
      // Send what was queued while offline; the catch-up is done: tell the UI to resync.
      for (const c of convs.values()) for (const m of c.messages) if (m.status === 'sending') void ack(c, m);
      emit({ kind: 'resync' });
    }, 400);
  };
  const signIn = (a: Record<string, unknown>): Account => {
    if (a.password === 'wrong') throw err('wrong_credentials', 'wrong username or password');
    if (keyringBroken) throw keyringError();
    account = { uid: me.uid, username: String(a.username || me.username), displayName: String(a.displayName || me.displayName), serverUrl: String(a.serverUrl) };
    me.username = account.username;
    me.displayName = account.displayName;
    sessionStorage.setItem('mock-account', JSON.stringify(account));
    connect();
    return account;
  };

  const ack = async (c: Conv, m: UiMessage) => {
    await sleep(500);
    const idx = c.messages.indexOf(m);
    let next: UiMessage;
    if (m.text.includes('fail') && m.status === 'sending' && !m.error) {
      next = { ...m, status: 'failed', error: err('internal', 'the server did not answer in time') };
    } else {
      const seq = c.messages.reduce((s, x) => Math.max(s, x.seq ?? 0), 0) + 1;
      next = { ...m, status: 'sent', seq, id: newId(), error: null, timestamp: Date.now() };
    }
    c.messages.splice(idx, 1, next);
    c.messages.sort((a, b) => (a.seq ?? Infinity) - (b.seq ?? Infinity));
    emit({ kind: 'message', message: next });
    emit({ kind: 'conversation', conversation: item(c) });
    if (next.status === 'sent' && c.id === 'c-jerry') reply(c, next.text);
  };

  const reply = async (c: Conv, text: string) => {
    await sleep(600);
    // Jerry reads it: the read tick.
    const readSeq = c.messages.reduce((s, m) => Math.max(s, m.seq ?? 0), 0);
    c.peerReadSeq = Math.max(c.peerReadSeq, readSeq);
    emit({ kind: 'receipt', conversationId: c.id, uid: 'u-jerry', readSeq });
    emit({ kind: 'conversation', conversation: item(c) });
    await sleep(500);
    emit({ kind: 'typing', conversationId: c.id, uid: 'u-jerry', name: 'Jerry', typing: true });
    await sleep(2000);
    emit({ kind: 'typing', conversationId: c.id, uid: 'u-jerry', name: 'Jerry', typing: false });
    const m = msg(c, 'u-jerry', `You said: “${text.slice(0, 60)}”`, Date.now());
    emit({ kind: 'message', message: m });
    emit({ kind: 'conversation', conversation: item(c) });
  };

  const reconnectDemo = async () => {
    setConn({ state: 'offline' });
    await sleep(1500);
    for (let attempt = 1; attempt <= 2; attempt++) {
      setConn({ state: 'reconnecting', attempt, delayMs: 3000 });
      await sleep(3000);
    }
    connect();
  };

  // Messages the UI never hears about (as if the event channel overflowed), then a resync.
  const resyncDemo = async () => {
    await sleep(300);
    const c = convs.get('c-jerry')!;
    for (let i = 1; i <= 3; i++) msg(c, 'u-jerry', `Missed message ${i} (brought by the resync)`, Date.now());
    const g = convs.get('c-group')!;
    msg(g, 'u-spike', 'A group message you missed', Date.now());
    emit({ kind: 'resync' });
  };

  const commands: Record<string, (a: Record<string, unknown>) => unknown> = {
    app_info: () => ({ version: '0.1.0-mock', profile: 'mock', defaultServerUrl: 'ws://127.0.0.1:7822/ws', maxTextChars }),
    restore_session: () => {
      if (keyringBroken) throw keyringError();
      const saved = sessionStorage.getItem('mock-account');
      if (saved) return signIn(JSON.parse(saved));
      if (params.get('mock') === 'signedin') return signIn({ serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', displayName: 'Tom' });
      return null;
    },
    bootstrap: () => {
      const info = commands.app_info({});
      let account: unknown = null;
      let error: unknown = null;
      try {
        account = commands.restore_session({});
      } catch (e) {
        error = e;
      }
      const conversations = account ? commands.list_conversations({ offset: 0, limit: 50 }) : [];
      return { info, account, error, conversations, connection: commands.connection_state({}) };
    },
    sign_in: signIn,
    sign_up: (a) => {
      if (a.username === 'jerry') throw err('username_taken', 'that username is taken');
      if (String(a.password).length < 8) throw err('invalid_password', 'the password must be 8 to 256 bytes');
      return signIn(a);
    },
    sign_out: () => {
      account = null;
      sessionStorage.removeItem('mock-account');
      return null;
    },
    find_user: (a) => users.find((u) => u.username === String(a.username).toLowerCase()) ?? null,
    // Like the backend: most recent activity first, `limit` (default 50, clamped to 1..=500) from `offset`.
    list_conversations: (a) => {
      needAccount();
      const offset = a.offset == null ? 0 : Math.max(0, Math.floor(Number(a.offset)) || 0);
      const asked = a.limit == null ? 50 : Math.floor(Number(a.limit)) || 1;
      const limit = forcedLimit > 0 ? forcedLimit : Math.min(500, Math.max(1, asked));
      const page = [...convs.values()].map(item).sort(compareConversations).slice(offset, offset + limit);
      console.debug(`[mock] list_conversations offset ${offset} limit ${limit} → ${page.length}`);
      return page;
    },
    create_conversation: (a) => {
      needAccount();
      const ids = [me.uid, ...(a.userIds as string[]).filter((u) => u !== me.uid)];
      const type = ids.length === 2 ? 'SINGLE_CHAT' : 'GROUP_CHAT';
      if (a.unique) {
        const found = [...convs.values()].find((c) => c.userIds.length === ids.length && ids.every((u) => c.userIds.includes(u)));
        if (found) return item(found);
      }
      const c: Conv = { id: 'c-' + newId(), type, title: String(a.title ?? ''), managerId: me.uid, userIds: ids, messages: [], readSeq: 0, peerReadSeq: 0, createdAt: Date.now() };
      convs.set(c.id, c);
      emit({ kind: 'conversation', conversation: item(c) });
      return item(c);
    },
    load_messages: (a) => {
      const c = conv(a.conversationId);
      const before = a.beforeSeq as number | null;
      const older = before === null ? c.messages : c.messages.filter((m) => m.seq !== null && m.seq < before);
      const limit = Number(a.limit) || 50;
      return { messages: older.slice(-limit), hasMore: older.length > limit };
    },
    send_text: (a) => {
      const c = conv(a.conversationId);
      const text = String(a.text);
      if ([...text].length > maxTextChars) throw err('text_too_long', `the text is longer than ${maxTextChars} characters`);
      if (text === '/reconnect') void reconnectDemo();
      if (text === '/resync') void resyncDemo();
      if (text === '/signout') {
        setTimeout(() => {
          account = null;
          sessionStorage.removeItem('mock-account');
          emit({ kind: 'signedOut', reason: 'Your session was revoked from another device.' });
        }, 300);
      }
      const m: UiMessage = {
        conversationId: c.id, clientId: newId(), id: null, seq: null, from: me.uid, fromName: me.displayName,
        own: true, text, timestamp: Date.now(), status: 'sending', error: null,
      };
      c.messages.push(m);
      emit({ kind: 'conversation', conversation: item(c) });
      if (online) void ack(c, m);
      return m;
    },
    retry_send: (a) => {
      const c = conv(a.conversationId);
      const idx = c.messages.findIndex((m) => m.clientId === a.clientId);
      if (idx === -1) throw err('invalid_params', 'no such message');
      const m: UiMessage = { ...c.messages[idx], status: 'sending', error: { code: 'retry', message: '' } };
      c.messages[idx] = m;
      void ack(c, m);
      return { ...m, error: null };
    },
    mark_read: (a) => {
      const c = conv(a.conversationId);
      c.readSeq = Math.max(c.readSeq, Number(a.seq));
      emit({ kind: 'conversation', conversation: item(c) });
      return null;
    },
    set_typing: () => null,
    set_active_conversation: () => null,
    connection_state: (): ConnectionState => (online ? { state: 'online' } : { state: 'connecting' }),
    ui_ready: (a) => {
      const at = Number(a.calledAt);
      const list = firstList ? `, ${(at - firstList.at).toFixed(1)} ms after the first list_conversations answer (${firstList.items} items)` : '';
      console.info(`[mock] ui_ready after ${at.toFixed(1)} ms${list}`);
      return null;
    },
  };

  // When the first list_conversations answer left the "backend" (for the ui_ready log line: the
  // time from the list data to the first paint; the structuredClone stands in for the IPC).
  let firstList: { at: number; items: number } | null = null;

  return {
    async invoke<T>(cmd: string, args: Record<string, unknown> = {}): Promise<T> {
      const calledAt = performance.now(); // (ui_ready is timed when invoked, not after the mock's delay)
      await sleep(cmd === 'sign_in' || cmd === 'sign_up' ? 400 : 20);
      const f = commands[cmd];
      if (!f) throw err('unknown_command', `the mock has no command ${cmd}`);
      const result = f(cmd === 'ui_ready' ? { calledAt } : args);
      if (cmd === 'list_conversations' && !firstList) {
        firstList = { at: performance.now(), items: (result as unknown[]).length };
        performance.mark('mock:list_conversations');
      }
      return structuredClone(result) as T;
    },
    async listen(handler) {
      handlers.add(handler);
      return () => handlers.delete(handler);
    },
  };
}
