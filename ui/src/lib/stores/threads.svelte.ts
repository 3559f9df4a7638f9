// The threads: the loaded messages of the conversations opened lately (paging, sending, retry),
// read marking of the open one, drafts and who is typing. The merging rules live in
// `../messages.ts`.
import { SvelteMap } from 'svelte/reactivity';
import * as api from '../api';
import type { ConversationItem, ImEvent, UiMessage } from '../api';
import { DraftStore } from '../drafts';
import { mergeMessages, mergeNewestPage, maxSeq, minSeq, upsertMessage } from '../messages';
import { TypingTracker } from '../typing';
import type { Phase } from './session.svelte';
import type { ToastStore } from './toasts.svelte';

export const PAGE_SIZE = 50;
/** Messages loaded above a message jumped to (a search hit), so that it shows with what came before. */
export const JUMP_CONTEXT = 20;
/** How long a message jumped to is highlighted (its flash). */
export const JUMP_FLASH_MS = 2000;
/** How many threads stay in memory (the least recently opened go first). */
export const MAX_CACHED_THREADS = 8;

/** The loaded messages of one conversation. */
export class Thread {
  messages = $state.raw<UiMessage[]>([]);
  hasMore = $state(true);
  loaded = $state(false);
  loadingOlder = $state(false);
  constructor(readonly conversationId: string) {}
}

export type ThreadDeps = {
  toasts: ToastStore;
  phase(): Phase;
  /** The open conversation: its id, and its list item (for the read state) when known. */
  selectedId(): string | null;
  selected(): ConversationItem | null;
  /** A message the backend answered with (send, retry): into its thread and the list. */
  applyMessage(msg: UiMessage): void;
  /** The read mark sent for a conversation (0: none); sending one; the backend refused one. */
  readMark(id: string): number;
  markRead(id: string, seq: number): void;
  markReadFailed(id: string, seq: number): void;
};

export class ThreadStore {
  threads = new SvelteMap<string, Thread>();
  /** Bumped whenever typing information changes (the tracker itself is not reactive). */
  typingVersion = $state(0);
  readonly drafts = new DraftStore();
  readonly typing = new TypingTracker();

  private order: string[] = [];
  /**
   * The conversation whose view is scrolled up, away from its newest messages (the message list
   * says so): they are not read yet, so nothing is marked read there until it is back at the bottom.
   */
  private scrolledUp: string | null = null;
  /**
   * One per page or send / retry in flight: the message events that arrived meanwhile (by
   * clientId). Command answers and events travel separately, so an event can overtake the answer
   * of a command issued before it: its copy is the newer one and must not be undone by the answer.
   */
  private watchers = new Set<Map<string, UiMessage>>();
  /** The older page on its way, per thread. */
  private older = new Map<Thread, Promise<boolean>>();
  private typingTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: ThreadDeps) {}

  /** The thread of a conversation being opened: the cached one, or a new one (not loaded yet). */
  open(id: string): Thread {
    let thread = this.threads.get(id);
    if (!thread) {
      thread = new Thread(id);
      this.threads.set(id, thread);
    }
    this.touch(id);
    this.scrolledUp = null; // a conversation opens at its newest messages
    return thread;
  }

  /** Loads (or refreshes) the newest page of a thread and merges it in. */
  async loadNewest(thread: Thread): Promise<void> {
    const meanwhile = this.watch();
    try {
      const page = await api.loadMessages({ conversationId: thread.conversationId, beforeSeq: null, limit: PAGE_SIZE });
      let messages: UiMessage[];
      if (!thread.loaded) {
        // What the thread got while loading (own messages being sent, message events) stays:
        // the page may have been read before those messages existed.
        messages = mergeMessages(thread.messages, page.messages);
        thread.hasMore = page.hasMore;
      } else {
        // A refresh (reopened, resync): merge; drop older messages only if a hole would be left.
        const merged = mergeNewestPage(thread.messages, thread.hasMore, page);
        messages = merged.messages;
        thread.hasMore = merged.hasMore;
      }
      // Events that arrived during the fetch are newer than the page's copies (e.g. a failure
      // after a "sending" copy in the page); an acked copy still never goes back (upsertMessage).
      for (const m of meanwhile.values()) if (m.conversationId === thread.conversationId) messages = upsertMessage(messages, m);
      thread.messages = messages;
      thread.loaded = true;
      this.maybeMarkRead();
    } catch (e) {
      thread.loaded = true;
      thread.hasMore = false;
      this.deps.toasts.show(api.toAppError(e));
    } finally {
      this.watchers.delete(meanwhile);
    }
  }

  /**
   * Loads the page before the oldest message shown (`limit` messages, default `PAGE_SIZE`, at
   * most `MESSAGES_MAX_PAGE`). One page at a time per thread: while one is on its way, this is
   * that one. Resolves to whether a page was merged in (false: nothing to load, or it failed,
   * with a toast).
   */
  loadOlder(thread: Thread, limit = PAGE_SIZE): Promise<boolean> {
    const inFlight = this.older.get(thread);
    if (inFlight) return inFlight;
    if (thread.loadingOlder || !thread.hasMore || !thread.loaded) return Promise.resolve(false);
    const before = minSeq(thread.messages);
    if (before === null) {
      thread.hasMore = false;
      return Promise.resolve(false);
    }
    const page = this.loadOlderPage(thread, before, Math.min(api.MESSAGES_MAX_PAGE, Math.max(1, limit)));
    this.older.set(thread, page);
    return page;
  }

  private async loadOlderPage(thread: Thread, before: number, limit: number): Promise<boolean> {
    thread.loadingOlder = true;
    try {
      const page = await api.loadMessages({ conversationId: thread.conversationId, beforeSeq: before, limit });
      thread.messages = mergeMessages(thread.messages, page.messages);
      thread.hasMore = page.hasMore;
      return true;
    } catch (e) {
      this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      thread.loadingOlder = false;
      this.older.delete(thread);
    }
  }

  /**
   * Makes the message with this seq one of the thread's loaded messages (a search hit far up in
   * the history): loads older pages, as large as needed (up to `MESSAGES_MAX_PAGE`), until it is
   * there. Resolves to the message, or null when it cannot be reached: the history ends (or has
   * a hole) before it, a page failed (with a toast), the thread was dropped, or `keepGoing`
   * (asked before each page) said to stop.
   */
  async reveal(thread: Thread, seq: number, keepGoing: () => boolean = () => true): Promise<UiMessage | null> {
    if (!thread.loaded) await this.loadNewest(thread);
    for (;;) {
      const found = thread.messages.find((m) => m.seq === seq);
      if (found) return found;
      const oldest = minSeq(thread.messages);
      if (!thread.loaded || !thread.hasMore || oldest === null || oldest <= seq) return null;
      if (!keepGoing() || this.threads.get(thread.conversationId) !== thread) return null;
      const wanted = oldest - seq + JUMP_CONTEXT;
      const loaded = await this.loadOlder(thread, Math.max(PAGE_SIZE, wanted));
      // Failed (a toast said why), or a page that brought nothing older while more is said to
      // come: stop rather than spin.
      if (!loaded || minSeq(thread.messages) === oldest) return thread.messages.find((m) => m.seq === seq) ?? null;
    }
  }

  /** Sends a text; false (with a toast) when the backend refused it, so the composer keeps it. */
  async send(conversationId: string, text: string): Promise<boolean> {
    const meanwhile = this.watch();
    try {
      const msg = await api.sendText({ conversationId, text });
      // The answer is the message's first state ("sending"): its ack or failure may have come first.
      if (!meanwhile.has(msg.clientId)) this.deps.applyMessage(msg);
      return true;
    } catch (e) {
      this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.watchers.delete(meanwhile);
    }
  }

  async retry(msg: UiMessage): Promise<void> {
    const meanwhile = this.watch();
    try {
      const answer = await api.retrySend({ conversationId: msg.conversationId, clientId: msg.clientId });
      // "Sending" again, unless the outcome of this retry has already arrived.
      if (!meanwhile.has(answer.clientId)) this.deps.applyMessage(answer);
    } catch (e) {
      this.deps.toasts.show(api.toAppError(e));
    } finally {
      this.watchers.delete(meanwhile);
    }
  }

  /** Tells the others whether I am typing (best effort). */
  setTyping(conversationId: string, typing: boolean): void {
    // Deliberately no toast: a typing indicator is ephemeral and best effort (the backend already
    // skips it while offline), the next keystroke sends it again within 3 s, and a conversation
    // that really is broken shows its error when a message is sent. A toast per keystroke burst
    // would only bury the errors that matter. Logged, so it is not silent either.
    api.setTyping({ conversationId, typing }).catch((e) => console.warn('[gtedx] set_typing failed:', e));
  }

  /**
   * Marks the open conversation read up to its newest message, if the window has focus and its
   * view is at the bottom (where the newest messages are).
   */
  maybeMarkRead(): void {
    const id = this.deps.selectedId();
    const thread = id ? (this.threads.get(id) ?? null) : null;
    if (this.deps.phase() !== 'main' || !id || !thread?.loaded || this.scrolledUp === id) return;
    if (typeof document !== 'undefined' && (document.visibilityState !== 'visible' || !document.hasFocus())) return;
    const newest = maxSeq(thread.messages);
    if (newest === null) return;
    if (newest <= this.deps.readMark(id)) return;
    const conv = this.deps.selected();
    if (conv && newest <= conv.readSeq && conv.unreadCount === 0) return;
    this.deps.markRead(id, newest);
    api.markRead({ conversationId: id, seq: newest }).catch((e) => {
      this.deps.markReadFailed(id, newest);
      this.deps.toasts.show(api.toAppError(e));
    });
  }

  /** The message view of a conversation left its bottom (scrolled up) or came back to it. */
  setViewAtBottom(id: string, atBottom: boolean): void {
    if (!atBottom) {
      this.scrolledUp = id;
      return;
    }
    if (this.scrolledUp !== id) return;
    this.scrolledUp = null;
    this.maybeMarkRead();
  }

  /** A `message` event: into its thread, and noted for the pages and sends in flight. */
  messageEvent(msg: UiMessage): void {
    for (const w of this.watchers) w.set(msg.clientId, msg);
    this.applyMessage(msg);
  }

  /** A message (event or answer): into its thread, if that thread is held. */
  applyMessage(msg: UiMessage): void {
    const thread = this.threads.get(msg.conversationId);
    if (thread) thread.messages = upsertMessage(thread.messages, msg);
  }

  /** A message from someone ends their typing. */
  stoppedTyping(conversationId: string, uid: string): void {
    this.typing.stopped(conversationId, uid);
    this.typingVersion++;
  }

  /** A typing event from someone else. */
  applyTyping(e: Extract<ImEvent, { kind: 'typing' }>): void {
    this.typing.apply(e, Date.now());
    this.typingVersion++;
    this.scheduleTypingExpiry();
  }

  typingNames(conversationId: string): string[] {
    void this.typingVersion;
    return this.typing.names(conversationId, Date.now());
  }

  /** A removed conversation: its thread and draft go. */
  remove(id: string): void {
    this.threads.delete(id);
    this.order = this.order.filter((x) => x !== id);
    this.drafts.clear(id);
  }

  reset(): void {
    this.threads.clear();
    this.order = [];
    this.scrolledUp = null;
    this.drafts.clearAll();
    this.typing.clear();
    clearTimeout(this.typingTimer);
    this.typingVersion++;
  }

  private watch(): Map<string, UiMessage> {
    const w = new Map<string, UiMessage>();
    this.watchers.add(w);
    return w;
  }

  private scheduleTypingExpiry(): void {
    clearTimeout(this.typingTimer);
    const next = this.typing.nextExpiry(Date.now());
    if (next === null) return;
    this.typingTimer = setTimeout(
      () => {
        this.typingVersion++;
        this.scheduleTypingExpiry();
      },
      Math.max(50, next - Date.now() + 20),
    );
  }

  /** Keeps a few recently opened threads in memory; drops the least recently used. */
  private touch(id: string): void {
    this.order = [id, ...this.order.filter((x) => x !== id)];
    while (this.order.length > MAX_CACHED_THREADS) {
      const drop = this.order.pop()!;
      this.threads.delete(drop);
    }
  }
}
