// The app's state (Svelte 5 runes) and the glue between the backend and the components.
// The logic itself lives in the plain modules next to this one, which the unit tests cover.
import { tick } from 'svelte';
import { SvelteMap } from 'svelte/reactivity';
import * as api from './api';
import type { Account, AppError, AppInfo, ConnectionState, ConversationItem, ImEvent, UiMessage } from './api';
import {
  applyMessageToList,
  applyReceipt,
  mergeFirstPage,
  mergePage,
  removeConversation,
  upsertLoaded,
  type ConversationJournal,
  type ListMerge,
} from './conversations';
import { normalizeMaxChars } from './composer';
import { DraftStore } from './drafts';
import { mergeMessages, mergeNewestPage, maxSeq, minSeq, upsertMessage } from './messages';
import { afterPaint } from './paint';
import { TypingTracker } from './typing';
import { errorText, locale, t } from './i18n';

export const DEFAULT_SERVER_URL = 'ws://127.0.0.1:7822/ws';
export const PAGE_SIZE = 50;
const MAX_CACHED_THREADS = 8;
/** After a failed (or useless) page of the conversation list, no further page for this long. */
const MORE_RETRY_MS = 5000;

/** The loaded messages of one conversation. */
export class Thread {
  messages = $state.raw<UiMessage[]>([]);
  hasMore = $state(true);
  loaded = $state(false);
  loadingOlder = $state(false);
  constructor(readonly conversationId: string) {}
}

export type Toast = { id: number; text: string };

class AppState {
  phase = $state<'loading' | 'auth' | 'main'>('loading');
  info = $state.raw<AppInfo | null>(null);
  account = $state.raw<Account | null>(null);
  /** An error to show on the sign-in screen (e.g. keyring_unavailable from restore_session). */
  authError = $state.raw<AppError | null>(null);
  /** Set by a `signedOut` event: the server's reason, shown on the sign-in screen. */
  signedOutReason = $state<string | null>(null);
  /** The server and username of the last account, to prefill the sign-in form after signing out. */
  lastServerUrl = $state<string | null>(null);
  lastUsername = $state<string | null>(null);

  /**
   * The loaded part of the conversation list: a prefix of the backend's list (most recent activity
   * first), the first page at start-up and further pages as the list scrolls (`loadMoreConversations`).
   */
  conversations = $state.raw<ConversationItem[]>([]);
  /** The first page has been answered (or failed): the list can be shown. */
  conversationsLoaded = $state(false);
  /** The whole list is loaded (a page came back shorter than asked). */
  conversationsComplete = $state(false);
  loadingMoreConversations = $state(false);
  /** `ui_ready` has been sent (after the first paint); only then do further pages load. */
  ready = $state(false);
  selectedId = $state<string | null>(null);
  /**
   * The open conversation's latest copy, kept up to date by events even while it is not in the
   * loaded part of the list (e.g. an existing chat found by "new chat" that sorts below it).
   */
  private selectedItem = $state.raw<ConversationItem | null>(null);
  threads = new SvelteMap<string, Thread>();

  connection = $state.raw<ConnectionState>({ state: 'connecting' });
  /** When the current connection state arrived (for the reconnect countdown). */
  connectionSince = $state(Date.now());

  toasts = $state.raw<Toast[]>([]);
  /** Bumped whenever typing information changes (the tracker itself is not reactive). */
  typingVersion = $state(0);
  /** The current time, refreshed every 30 s so "today"/"yesterday" labels roll over. */
  now = $state(Date.now());
  newChatOpen = $state(false);

  readonly drafts = new DraftStore();
  readonly typing = new TypingTracker();

  /** The longest message text the server takes (code points), from `app_info`. */
  maxTextChars = $derived(normalizeMaxChars(this.info?.maxTextChars));
  selected = $derived(
    this.conversations.find((c) => c.id === this.selectedId) ??
      (this.selectedItem?.id === this.selectedId ? this.selectedItem : null),
  );
  currentThread = $derived(this.selectedId ? (this.threads.get(this.selectedId) ?? null) : null);

  private readySent = false;
  private booted = false;
  private toastSeq = 0;
  private markedRead = new Map<string, number>();
  private typingTimer: ReturnType<typeof setTimeout> | undefined;
  private threadOrder: string[] = [];
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  /** One journal per list page in flight: the conversation events that arrived meanwhile. */
  private journals = new Set<ConversationJournal>();
  private moreBlockedUntil = 0;

  /** Start: subscribe to events, read app info, try to restore the saved session. */
  async boot(): Promise<void> {
    if (this.booted) return;
    this.booted = true;
    setInterval(() => (this.now = Date.now()), 30_000);
    // Mark the open conversation read again when the window comes back.
    if (typeof window !== 'undefined') window.addEventListener('focus', () => this.maybeMarkRead());
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', () => this.maybeMarkRead());
    // Subscribe and fetch the first screen at the same time: one round trip for everything.
    const listening = api.onImEvent((e) => this.onEvent(e)).catch((e) => this.toast(api.toAppError(e)));
    let boot: api.Bootstrap | null = null;
    try {
      boot = await api.bootstrap();
    } catch (e) {
      this.authError = api.toAppError(e);
    }
    const info = boot?.info;
    this.info = info
      ? { ...info, maxTextChars: normalizeMaxChars(info.maxTextChars) }
      : { version: '', profile: null, defaultServerUrl: DEFAULT_SERVER_URL, maxTextChars: normalizeMaxChars(null) };
    if (boot?.account) {
      await this.enter(boot.account, boot.conversations, boot.connection);
    } else {
      if (boot?.error) this.authError = boot.error;
      this.phase = 'auth';
    }
    await listening;
  }

  /**
   * Called when the first screen a user can act on (the conversation list, or the sign-in screen)
   * has rendered; invokes `ui_ready` once, after that screen's first paint.
   */
  notifyReady(): void {
    if (this.readySent) return;
    this.readySent = true;
    api.mark('rendered');
    void tick().then(() =>
      afterPaint(() => {
        this.ready = true;
        void api.uiReady().catch(() => {});
      }),
    );
  }

  async signIn(a: { serverUrl: string; username: string; password: string }): Promise<void> {
    await this.enter(await api.signIn(a));
  }

  async signUp(a: { serverUrl: string; username: string; password: string; displayName: string }): Promise<void> {
    await this.enter(await api.signUp(a));
  }

  private async enter(account: Account, firstPage?: ConversationItem[], connection?: ConnectionState): Promise<void> {
    this.account = account;
    this.authError = null;
    this.signedOutReason = null;
    this.phase = 'main';
    if (connection) {
      this.setConnection(connection);
    } else {
      api.connectionState().then(
        (s) => this.setConnection(s),
        () => {},
      );
    }
    await this.refreshConversations(firstPage);
  }

  async signOut(): Promise<void> {
    try {
      await api.signOut();
    } catch (e) {
      this.toast(api.toAppError(e));
    }
    this.reset();
  }

  private reset(): void {
    this.phase = 'auth';
    this.lastServerUrl = this.account?.serverUrl ?? this.lastServerUrl;
    this.lastUsername = this.account?.username ?? this.lastUsername;
    this.account = null;
    this.conversations = [];
    this.conversationsLoaded = false;
    this.conversationsComplete = false;
    this.loadingMoreConversations = false;
    this.moreBlockedUntil = 0;
    this.selectedId = null;
    this.selectedItem = null;
    this.threads.clear();
    this.threadOrder = [];
    this.markedRead.clear();
    this.drafts.clearAll();
    this.typing.clear();
    this.newChatOpen = false;
    this.typingVersion++;
  }

  /**
   * Loads the first page of the conversation list (at start-up and on `resync`) and merges it by id
   * with what is held: nothing is duplicated, and pages loaded further down stay.
   */
  async refreshConversations(preloaded?: ConversationItem[]): Promise<void> {
    const account = this.account;
    const journal = this.openJournal();
    try {
      const limit = api.CONVERSATIONS_FIRST_PAGE;
      const page = preloaded ?? (await api.listConversations({ offset: 0, limit }));
      if (this.account !== account) return; // signed out meanwhile
      this.applyListMerge(mergeFirstPage(this.conversations, page, limit, journal));
    } catch (e) {
      if (this.account === account) this.toast(api.toAppError(e));
    } finally {
      this.journals.delete(journal);
      if (this.account === account) this.conversationsLoaded = true;
    }
  }

  /**
   * Loads the next page of the conversation list (`offset` = the number loaded), one at a time,
   * only after `ui_ready`, and not again for a while after a failure.
   */
  async loadMoreConversations(): Promise<void> {
    if (this.phase !== 'main' || !this.ready || !this.conversationsLoaded) return;
    if (this.conversationsComplete || this.loadingMoreConversations || Date.now() < this.moreBlockedUntil) return;
    const account = this.account;
    const journal = this.openJournal();
    this.loadingMoreConversations = true;
    try {
      const limit = api.CONVERSATIONS_NEXT_PAGE;
      const held = this.conversations.length;
      const page = await api.listConversations({ offset: held, limit });
      if (this.account !== account) return;
      const merged = mergePage(this.conversations, page, limit, journal);
      // A full page that added nothing (the list moved under us): do not ask again at once.
      if (!merged.complete && merged.items.length <= held) this.moreBlockedUntil = Date.now() + MORE_RETRY_MS;
      this.applyListMerge(merged);
    } catch (e) {
      if (this.account !== account) return;
      this.moreBlockedUntil = Date.now() + MORE_RETRY_MS;
      this.toast(api.toAppError(e));
    } finally {
      this.journals.delete(journal);
      if (this.account === account) this.loadingMoreConversations = false;
    }
  }

  private openJournal(): ConversationJournal {
    const journal: ConversationJournal = new Map();
    this.journals.add(journal);
    return journal;
  }

  private applyListMerge(merged: ListMerge): void {
    this.conversations = merged.items;
    this.conversationsComplete = merged.complete;
  }

  /** A `conversation` event (or a created conversation): into the list if it belongs to the loaded part. */
  private upsertItem(item: ConversationItem): void {
    this.conversations = upsertLoaded(this.conversations, item, this.conversationsComplete);
    if (item.id === this.selectedId) {
      const old = this.selectedItem?.id === item.id ? this.selectedItem : null;
      this.selectedItem =
        this.conversations.find((c) => c.id === item.id) ??
        (old && old.peerReadSeq > item.peerReadSeq ? { ...item, peerReadSeq: old.peerReadSeq } : item);
    }
  }

  /**
   * The backend's `resync`: events may have been missed, so reload the conversation list and the
   * newest page of the open conversation (merged by clientId, never duplicated). A resync arriving
   * while one runs makes it run once more afterwards.
   */
  resync(): Promise<void> {
    if (this.phase !== 'main') return Promise.resolve();
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    const run = async () => {
      do {
        this.resyncAgain = false;
        const thread = this.currentThread;
        await Promise.all([this.refreshConversations(), thread ? this.loadNewest(thread) : null]);
      } while (this.resyncAgain && this.phase === 'main');
    };
    this.resyncing = run().finally(() => (this.resyncing = null));
    return this.resyncing;
  }

  /** Opens a conversation (or closes the open one with null). */
  async select(id: string | null): Promise<void> {
    if (this.selectedId === id) return;
    let thread: Thread | undefined;
    if (id) {
      thread = this.threads.get(id);
      if (!thread) {
        thread = new Thread(id);
        this.threads.set(id, thread);
      }
      this.touchThread(id);
    }
    const known = this.selectedItem?.id === id ? this.selectedItem : null;
    this.selectedItem = id ? (this.conversations.find((c) => c.id === id) ?? known) : null;
    this.selectedId = id;
    api.setActiveConversation({ conversationId: id }).catch(() => {});
    if (thread) await this.loadNewest(thread);
  }

  /** Loads (or refreshes) the newest page of a thread and merges it in. */
  async loadNewest(thread: Thread): Promise<void> {
    try {
      const page = await api.loadMessages({ conversationId: thread.conversationId, beforeSeq: null, limit: PAGE_SIZE });
      if (!thread.loaded) {
        // Keep unacked own messages the page may not contain yet.
        const pending = thread.messages.filter((m) => m.seq === null);
        thread.messages = mergeMessages(pending, page.messages);
        thread.hasMore = page.hasMore;
      } else {
        // A refresh (reopened, resync): merge; drop older messages only if a hole would be left.
        const merged = mergeNewestPage(thread.messages, thread.hasMore, page);
        thread.messages = merged.messages;
        thread.hasMore = merged.hasMore;
      }
      thread.loaded = true;
      this.maybeMarkRead();
    } catch (e) {
      thread.loaded = true;
      thread.hasMore = false;
      this.toast(api.toAppError(e));
    }
  }

  /** Loads the page before the oldest message shown. */
  async loadOlder(thread: Thread): Promise<void> {
    if (thread.loadingOlder || !thread.hasMore || !thread.loaded) return;
    const before = minSeq(thread.messages);
    if (before === null) {
      thread.hasMore = false;
      return;
    }
    thread.loadingOlder = true;
    try {
      const page = await api.loadMessages({ conversationId: thread.conversationId, beforeSeq: before, limit: PAGE_SIZE });
      thread.messages = mergeMessages(thread.messages, page.messages);
      thread.hasMore = page.hasMore;
    } catch (e) {
      this.toast(api.toAppError(e));
    } finally {
      thread.loadingOlder = false;
    }
  }

  async send(conversationId: string, text: string): Promise<boolean> {
    try {
      const msg = await api.sendText({ conversationId, text });
      this.applyMessage(msg);
      return true;
    } catch (e) {
      this.toast(api.toAppError(e));
      return false;
    }
  }

  async retry(msg: UiMessage): Promise<void> {
    try {
      this.applyMessage(await api.retrySend({ conversationId: msg.conversationId, clientId: msg.clientId }));
    } catch (e) {
      this.toast(api.toAppError(e));
    }
  }

  setTyping(conversationId: string, typing: boolean): void {
    api.setTyping({ conversationId, typing }).catch(() => {});
  }

  async createConversation(userIds: string[], title: string, unique: boolean): Promise<ConversationItem> {
    const c = await api.createConversation({ userIds, title, unique });
    this.upsertItem(c);
    // An existing chat below the loaded part of the list is not in it: it opens all the same.
    if (this.selectedId !== c.id) this.selectedItem = c;
    await this.select(c.id);
    return c;
  }

  typingNames(conversationId: string): string[] {
    void this.typingVersion;
    return this.typing.names(conversationId, Date.now());
  }

  toast(err: AppError | string): void {
    const text = typeof err === 'string' ? err : errorText(locale, err);
    const id = ++this.toastSeq;
    this.toasts = [...this.toasts, { id, text }].slice(-4);
    setTimeout(() => this.dismissToast(id), 6000);
  }

  dismissToast(id: number): void {
    this.toasts = this.toasts.filter((x) => x.id !== id);
  }

  /** Marks the open conversation read up to its newest message, if the window has focus. */
  maybeMarkRead(): void {
    const id = this.selectedId;
    const thread = this.currentThread;
    if (this.phase !== 'main' || !id || !thread?.loaded) return;
    if (typeof document !== 'undefined' && (document.visibilityState !== 'visible' || !document.hasFocus())) return;
    const newest = maxSeq(thread.messages);
    if (newest === null) return;
    if (newest <= (this.markedRead.get(id) ?? 0)) return;
    const conv = this.selected;
    if (conv && newest <= conv.readSeq && conv.unreadCount === 0) return;
    this.markedRead.set(id, newest);
    api.markRead({ conversationId: id, seq: newest }).catch((e) => {
      this.markedRead.delete(id);
      this.toast(api.toAppError(e));
    });
  }

  private applyMessage(msg: UiMessage): void {
    const thread = this.threads.get(msg.conversationId);
    if (thread) thread.messages = upsertMessage(thread.messages, msg);
    this.conversations = applyMessageToList(this.conversations, msg);
    if (this.selectedItem?.id === msg.conversationId) this.selectedItem = applyMessageToList([this.selectedItem], msg)[0];
  }

  // Catching up after a reconnect is the backend's `resync` event (sent once its catch-up is done).
  private setConnection(s: ConnectionState): void {
    this.connection = s;
    this.connectionSince = Date.now();
  }

  private onEvent(e: ImEvent): void {
    switch (e.kind) {
      case 'message': {
        if (this.phase !== 'main') return;
        this.applyMessage(e.message);
        if (!e.message.own) {
          this.typing.stopped(e.message.conversationId, e.message.from);
          this.typingVersion++;
        }
        if (e.message.conversationId === this.selectedId) this.maybeMarkRead();
        break;
      }
      case 'conversation':
        if (this.phase !== 'main') return;
        for (const j of this.journals) j.set(e.conversation.id, e.conversation);
        this.upsertItem(e.conversation);
        if (e.conversation.id === this.selectedId) this.maybeMarkRead();
        break;
      case 'conversationRemoved':
        for (const j of this.journals) j.set(e.conversationId, null);
        this.conversations = removeConversation(this.conversations, e.conversationId);
        this.threads.delete(e.conversationId);
        this.drafts.clear(e.conversationId);
        if (this.selectedId === e.conversationId) void this.select(null);
        break;
      case 'connection':
        this.setConnection(e.state);
        break;
      case 'receipt':
        // Another member read up to readSeq: raises peerReadSeq (the read ticks).
        if (this.phase !== 'main') return;
        this.conversations = applyReceipt(this.conversations, e, this.account?.uid);
        if (this.selectedItem?.id === e.conversationId) this.selectedItem = applyReceipt([this.selectedItem], e, this.account?.uid)[0];
        break;
      case 'typing':
        if (e.uid === this.account?.uid) return;
        this.typing.apply(e, Date.now());
        this.typingVersion++;
        this.scheduleTypingExpiry();
        break;
      case 'signedOut':
        if (this.phase === 'auth') return;
        this.reset();
        this.signedOutReason = e.reason?.trim() || '';
        break;
      case 'resync':
        void this.resync();
        break;
      case 'error':
        this.toast(e.error);
        break;
    }
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
  private touchThread(id: string): void {
    this.threadOrder = [id, ...this.threadOrder.filter((x) => x !== id)];
    while (this.threadOrder.length > MAX_CACHED_THREADS) {
      const drop = this.threadOrder.pop()!;
      this.threads.delete(drop);
    }
  }
}

export const app = new AppState();
export { t, locale };
