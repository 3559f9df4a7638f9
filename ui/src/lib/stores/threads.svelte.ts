// The threads: the loaded messages of the conversations opened lately (paging, sending, retry),
// what is done to a message afterwards (edit, recall, delete for me, reply, react), read marking
// of the open one, the composers' drafts, contexts (replying, editing) and the mentions chosen in
// them, and who is typing. The merging rules live in `../messages.ts`, the composer's in
// `../composer.ts`, the reactions' in `../reactions.ts` and the mentions' in `../mentions.ts`.
import { SvelteMap } from 'svelte/reactivity';
import * as api from '../api';
import type { ConversationItem, ImEvent, UiMessage } from '../api';
import {
  cancelContext,
  editSave,
  reEdit,
  startEdit,
  startReply,
  withoutMessage,
  type ComposerContext,
  type ComposerState,
} from '../composer';
import { DraftStore } from '../drafts';
import {
  applyUpdate,
  compareRevisions,
  mergeMessages,
  mergeNewestPage,
  maxSeq,
  minSeq,
  pickVersion,
  removeMessage,
  upsertMessage,
} from '../messages';
import { canReEdit, previewOf, type RecalledText } from '../messageActions';
import { canReact, setMine, toggledCopy } from '../reactions';
import type { MentionPick, MentionsToSend } from '../mentions';
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
  /** A message edited, recalled or reacted to (the answer of edit / recall / react): into its thread and the list. */
  applyUpdate(msg: UiMessage): void;
  /** The signed-in user's display name (their reaction shows under it until the backend's copy comes). */
  myName(): string;
  /**
   * A message was deleted on this device: the list item whose last message it was shows `previous`
   * (the one before it in the thread, if known).
   */
  messageDeleted(conversationId: string, clientId: string, previous: UiMessage | null): void;
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
   * One per page or send / retry in flight: the message events (`message`, `messageUpdated`) that
   * arrived meanwhile (by clientId). Command answers and events travel separately, so an event can
   * overtake the answer of a command issued before it: its copy is the newer one and must not be
   * undone by the answer.
   */
  private watchers = new Set<Map<string, Watched>>();
  /**
   * The messages deleted on this device (`delete_for_me`), by conversation: clientId → seq (null:
   * never acked). Copies of them still on their way (pages fetched before, late events) are
   * dropped, and their seqs are no hole in the history.
   */
  private deleted = new Map<string, Map<string, number | null>>();
  /**
   * What the user is doing in each conversation's composer besides writing: replying to a message,
   * or editing one (see `../composer.ts`). The text itself is the draft.
   */
  private contexts = new SvelteMap<string, ComposerContext>();
  /**
   * The mentions chosen in each conversation's composer (the member picker): sent with the text
   * while their `@name` is still in it.
   */
  private mentionPicks = new SvelteMap<string, MentionPick[]>();
  /**
   * The own texts recalled from this device, by `conversationId:seq` (the server drops them): the
   * recall line offers "Re-edit" for a few minutes.
   */
  private recalledTexts = new SvelteMap<string, RecalledText>();
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
      const id = thread.conversationId;
      const got = await api.loadMessages({ conversationId: id, beforeSeq: null, limit: PAGE_SIZE });
      const page = { messages: this.withoutDeleted(id, got.messages), hasMore: got.hasMore };
      let messages: UiMessage[];
      if (!thread.loaded) {
        // What the thread got while loading (own messages being sent, message events) stays:
        // the page may have been read before those messages existed.
        messages = mergeMessages(thread.messages, page.messages);
        thread.hasMore = page.hasMore;
      } else {
        // A refresh (reopened, resync): merge; drop older messages only if a hole would be left.
        const merged = mergeNewestPage(thread.messages, thread.hasMore, page, this.deletedSeqs(id));
        messages = merged.messages;
        thread.hasMore = merged.hasMore;
      }
      // Events that arrived during the fetch are newer than the page's copies (e.g. a failure
      // after a "sending" copy in the page); an acked copy still never goes back (upsertMessage),
      // nor does an edit or a recall. An update adds nothing the page does not have.
      for (const w of meanwhile.values()) {
        if (w.message.conversationId !== id) continue;
        messages = w.update ? applyUpdate(messages, w.message) : upsertMessage(messages, w.message);
      }
      thread.messages = this.withoutDeleted(id, messages);
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
    const meanwhile = this.watch();
    try {
      const id = thread.conversationId;
      const page = await api.loadMessages({ conversationId: id, beforeSeq: before, limit });
      let messages = mergeMessages(thread.messages, this.withoutDeleted(id, page.messages));
      // The updates that came while the page was on its way (an edit, a recall, a reaction of a
      // message in it, not held then) are newer than the page's copies.
      for (const w of meanwhile.values()) {
        if (w.message.conversationId !== id) continue;
        messages = w.update ? applyUpdate(messages, w.message) : upsertMessage(messages, w.message);
      }
      thread.messages = this.withoutDeleted(id, messages);
      thread.hasMore = page.hasMore;
      return true;
    } catch (e) {
      this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.watchers.delete(meanwhile);
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

  /**
   * Sends a text (`replyTo`: the seq of the message it replies to; `mentions`: whom it mentions);
   * false (with a toast) when the backend refused it, so the composer keeps it.
   */
  async send(
    conversationId: string,
    text: string,
    replyTo: number | null = null,
    mentions: MentionsToSend = NO_MENTIONS,
  ): Promise<boolean> {
    const meanwhile = this.watch();
    try {
      const { mentions: uids, mentionAll } = mentions;
      const msg = await api.sendText({ conversationId, text, replyTo, mentions: uids, mentionAll });
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
      // "Sending" again, unless the outcome of this retry has already arrived (or it was deleted).
      if (!meanwhile.has(answer.clientId) && !this.isDeleted(answer)) this.deps.applyMessage(answer);
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
    // (A message deleted here was seen: it is read too, or its unread badge would never go.)
    const newest = maxOf(maxSeq(thread.messages), this.maxDeletedSeq(id));
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
    if (this.isDeleted(msg)) return;
    for (const w of this.watchers) {
      const seen = w.get(msg.clientId);
      w.set(msg.clientId, { message: seen ? pickVersion(seen.message, msg) : msg, update: false });
    }
    this.applyMessage(msg);
  }

  /**
   * A `messageUpdated` event (an edit or a recall): into its thread if the message is held there
   * (else there is nothing to do), and noted for the pages and sends in flight.
   */
  updateEvent(msg: UiMessage): void {
    if (this.isDeleted(msg)) return;
    for (const w of this.watchers) {
      const seen = w.get(msg.clientId);
      w.set(msg.clientId, seen ? { message: pickVersion(seen.message, msg), update: seen.update } : { message: msg, update: true });
    }
    this.applyUpdate(msg);
  }

  /** A message (event or answer): into its thread, if that thread is held. */
  applyMessage(msg: UiMessage): void {
    if (this.isDeleted(msg)) return;
    const thread = this.threads.get(msg.conversationId);
    if (thread) thread.messages = upsertMessage(thread.messages, msg);
  }

  /**
   * A message edited or recalled (event or answer): replaces the held copy, if its thread holds
   * it and it is not a later revision already. A recalled message can no longer be edited.
   */
  applyUpdate(msg: UiMessage): void {
    if (this.isDeleted(msg)) return;
    const thread = this.threads.get(msg.conversationId);
    if (thread) thread.messages = applyUpdate(thread.messages, msg);
    if (msg.recalled && msg.seq !== null) this.forget(msg.conversationId, msg.seq);
  }

  // --- what is done to a message --------------------------------------------------------------

  /** Changes the text of an own message (by its seq); false (with a toast) when the backend refused. */
  async editMessage(conversationId: string, seq: number, text: string): Promise<boolean> {
    const meanwhile = this.watch();
    try {
      const updated = await api.editMessage({ conversationId, seq, text });
      this.applyAnswer(meanwhile, updated);
      return true;
    } catch (e) {
      this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.watchers.delete(meanwhile);
    }
  }

  /**
   * The answer of a command that changed a message (edit, recall, react): into its thread and the
   * list, unless an event about the message that is not an older revision came while the command
   * was on its way. Then that copy is at least as new: a reaction made after the answer was
   * computed, say, which the answer (same text, same revision) would take back.
   */
  private applyAnswer(meanwhile: Map<string, Watched>, answer: UiMessage): void {
    for (const w of meanwhile.values()) {
      const m = w.message;
      if (m.conversationId !== answer.conversationId) continue;
      if (m.clientId !== answer.clientId && (answer.seq === null || m.seq !== answer.seq)) continue;
      if (compareRevisions(answer, m) <= 0) return;
    }
    this.deps.applyUpdate(answer);
  }

  /**
   * Recalls a message for everyone; false (with a toast) when the backend refused. An own text is
   * kept here for a while (the server drops it): the recall line offers "Re-edit".
   */
  async recallMessage(asked: UiMessage): Promise<boolean> {
    // (The copy held now: it may have been edited since the user asked.)
    const m = this.threads.get(asked.conversationId)?.messages.find((x) => x.clientId === asked.clientId) ?? asked;
    if (m.seq === null) return false;
    const key = recalledKey(m.conversationId, m.seq);
    const keep = m.own && m.text.trim() !== '';
    if (keep) this.recalledTexts.set(key, { text: m.text, replyTo: m.replyTo, at: Date.now() });
    const meanwhile = this.watch();
    try {
      const updated = await api.recallMessage({ conversationId: m.conversationId, seq: m.seq });
      this.applyAnswer(meanwhile, updated);
      return true;
    } catch (e) {
      if (keep) this.recalledTexts.delete(key);
      this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.watchers.delete(meanwhile);
    }
  }

  /**
   * Toggles the user's reaction with `emoji` on a message (on unless they have it): shown at once,
   * then as the backend's answer says (or the `messageUpdated` event, whichever is newer). False
   * (with a toast) when the backend refused; the reaction shown then goes back, unless an event
   * about the message has come since (it says how things stand).
   */
  async react(asked: UiMessage, emoji: string): Promise<boolean> {
    const id = asked.conversationId;
    const thread = this.threads.get(id);
    // (The copy held now: the menu or the bar may show an older one.)
    const m = thread?.messages.find((x) => x.clientId === asked.clientId) ?? asked;
    if (!canReact(m) || m.seq === null) return false;
    const seq = m.seq;
    const myName = this.deps.myName();
    const { message: shown, on } = toggledCopy(m, emoji, myName);
    if (thread) thread.messages = applyUpdate(thread.messages, shown);
    const meanwhile = this.watch();
    try {
      const updated = await api.react({ conversationId: id, seq, emoji, on });
      this.applyAnswer(meanwhile, updated);
      return true;
    } catch (e) {
      const heard = [...meanwhile.values()].some((w) => w.message.conversationId === id && w.message.seq === seq);
      const now = this.threads.get(id);
      const held = now?.messages.find((x) => x.seq === seq);
      if (!heard && now && held) {
        now.messages = applyUpdate(now.messages, { ...held, reactions: setMine(held.reactions ?? [], emoji, !on, myName) });
      }
      this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.watchers.delete(meanwhile);
    }
  }

  /**
   * Deletes a message on this device only (a failed one is discarded from the outbox); false
   * (with a toast) when the backend refused. It goes from its thread, and copies of it still on
   * their way are dropped.
   */
  async deleteForMe(m: UiMessage): Promise<boolean> {
    const id = m.conversationId;
    try {
      await api.deleteForMe({ conversationId: id, clientId: m.clientId, seq: m.seq });
    } catch (e) {
      this.deps.toasts.show(api.toAppError(e));
      return false;
    }
    let gone = this.deleted.get(id);
    if (!gone) this.deleted.set(id, (gone = new Map()));
    gone.set(m.clientId, m.seq);
    const thread = this.threads.get(id);
    let previous: UiMessage | null = null;
    if (thread) {
      thread.messages = removeMessage(thread.messages, m.clientId);
      previous = thread.loaded ? (thread.messages[thread.messages.length - 1] ?? null) : null;
    }
    this.deps.messageDeleted(id, m.clientId, previous);
    if (m.seq !== null) this.forget(id, m.seq);
    return true;
  }

  /** A message can no longer be edited (recalled, deleted): its composer leaves an edit of it. */
  private forget(id: string, seq: number): void {
    const s = this.composer(id);
    const next = withoutMessage(s, seq);
    if (next !== s) this.setComposer(id, next);
  }

  /** Whether a message (or a copy of it) was deleted on this device. */
  isDeleted(m: Pick<UiMessage, 'conversationId' | 'clientId' | 'seq'>): boolean {
    const gone = this.deleted.get(m.conversationId);
    if (!gone) return false;
    if (gone.has(m.clientId)) return true;
    if (m.seq === null) return false;
    for (const seq of gone.values()) if (seq === m.seq) return true;
    return false;
  }

  private withoutDeleted(id: string, messages: UiMessage[]): UiMessage[] {
    if (!this.deleted.get(id)?.size) return messages;
    const kept = messages.filter((m) => !this.isDeleted(m));
    return kept.length === messages.length ? messages : kept;
  }

  private deletedSeqs(id: string): Set<number> {
    const seqs = new Set<number>();
    for (const seq of this.deleted.get(id)?.values() ?? []) if (seq !== null) seqs.add(seq);
    return seqs;
  }

  private maxDeletedSeq(id: string): number | null {
    let max: number | null = null;
    for (const seq of this.deletedSeqs(id)) if (max === null || seq > max) max = seq;
    return max;
  }

  /** The own text recalled from this device that "Re-edit" can still put back (see `canReEdit`), if any. */
  recalledText(m: Pick<UiMessage, 'conversationId' | 'seq'>, now: number): RecalledText | null {
    if (m.seq === null) return null;
    const kept = this.recalledTexts.get(recalledKey(m.conversationId, m.seq));
    return canReEdit(kept, now) ? kept : null;
  }

  // --- the composers: draft and context -------------------------------------------------------

  /** A conversation's composer: its text (the draft) and what it is doing (replying, editing). */
  composer(id: string): ComposerState {
    return { text: this.drafts.get(id), context: this.contexts.get(id) ?? null };
  }

  setComposer(id: string, s: ComposerState): void {
    this.drafts.set(id, s.text);
    if (s.context) this.contexts.set(id, s.context);
    else this.contexts.delete(id);
  }

  /** Reply to a message (sent ones only): the composer quotes it. */
  startReply(m: UiMessage): void {
    if (m.seq === null || m.recalled) return;
    this.setComposer(m.conversationId, startReply(this.composer(m.conversationId), previewOf(m)));
  }

  /** Edit an own message: the composer takes its text (what it held comes back afterwards). */
  startEdit(m: UiMessage): void {
    if (m.seq === null || m.recalled) return;
    this.setComposer(m.conversationId, startEdit(this.composer(m.conversationId), { seq: m.seq, clientId: m.clientId, text: m.text }));
  }

  /** The mentions chosen in a conversation's composer (the member picker), oldest first. */
  mentionPicksOf(id: string): MentionPick[] {
    return this.mentionPicks.get(id) ?? [];
  }

  /** Puts the mentions chosen in a conversation's composer (none: forgotten). */
  setMentionPicks(id: string, picks: MentionPick[]): void {
    if (picks.length) this.mentionPicks.set(id, picks);
    else this.mentionPicks.delete(id);
  }

  /** × or Esc in the composer: the reply is dropped, or the edit left. */
  cancelComposerContext(id: string): void {
    this.setComposer(id, cancelContext(this.composer(id)));
  }

  /**
   * Enter while editing: saves the text (an unchanged one just leaves the edit). Resolves to
   * whether the composer left the edit; false when the text is empty (not allowed: recall instead)
   * or the backend refused (a toast; the edit stays, with its text).
   */
  async saveEdit(id: string): Promise<boolean> {
    const s = this.composer(id);
    const save = editSave(s);
    if (!save || s.context?.kind !== 'edit' || save.kind === 'empty') return false;
    const editing = s.context;
    if (save.kind === 'save' && !(await this.editMessage(id, editing.seq, save.text))) return false;
    const now = this.composer(id);
    if (now.context?.kind === 'edit' && now.context.seq === editing.seq) this.setComposer(id, cancelContext(now));
    return true;
  }

  /** "Re-edit" on the recall line of an own text: it comes back into the composer. */
  reEdit(m: UiMessage, now: number): boolean {
    const kept = this.recalledText(m, now);
    if (!kept || m.seq === null) return false;
    this.recalledTexts.delete(recalledKey(m.conversationId, m.seq));
    this.setComposer(m.conversationId, reEdit(this.composer(m.conversationId), kept.text, kept.replyTo));
    return true;
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

  /** A removed conversation: its thread and draft go (and what its composer was doing). */
  remove(id: string): void {
    this.threads.delete(id);
    this.order = this.order.filter((x) => x !== id);
    this.drafts.clear(id);
    this.contexts.delete(id);
    this.mentionPicks.delete(id);
  }

  reset(): void {
    this.threads.clear();
    this.order = [];
    this.scrolledUp = null;
    this.drafts.clearAll();
    this.contexts.clear();
    this.mentionPicks.clear();
    this.deleted.clear();
    this.recalledTexts.clear();
    this.typing.clear();
    clearTimeout(this.typingTimer);
    this.typingVersion++;
  }

  private watch(): Map<string, Watched> {
    const w = new Map<string, Watched>();
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

/** A message event seen while a command was on its way: its latest copy; `update`: only updates (add nothing). */
type Watched = { message: UiMessage; update: boolean };

const recalledKey = (conversationId: string, seq: number) => `${conversationId}:${seq}`;

/** A text that mentions nobody. */
const NO_MENTIONS: MentionsToSend = { mentions: [], mentionAll: false };

function maxOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.max(a, b);
}
