// The conversation list: the loaded part of the backend's list (paged), kept up to date by
// events, and which conversation is open. The merging rules live in `../conversations.ts`.
import * as api from '../api';
import type { ConversationItem, ImEvent, UiMessage } from '../api';
import {
  applyMessageToList,
  applyReceipt,
  applyUpdateToList,
  replaceDeletedLast,
  mergeFirstPage,
  mergePage,
  removeConversation,
  upsertLoaded,
  withReadMark,
  type ConversationJournal,
  type ListMerge,
} from '../conversations';
import type { SessionStore } from './session.svelte';
import type { ToastStore } from './toasts.svelte';

/** After a failed (or useless) page of the conversation list, no further page for this long. */
export const MORE_RETRY_MS = 5000;

export class ConversationListStore {
  /**
   * The loaded part of the conversation list: a prefix of the backend's list (most recent activity
   * first), the first page at start-up and further pages as the list scrolls (`loadMore`).
   */
  items = $state.raw<ConversationItem[]>([]);
  /** The first page has been answered (or failed): the list can be shown. */
  loaded = $state(false);
  /** The whole list is loaded (a page came back shorter than asked). */
  complete = $state(false);
  loadingMore = $state(false);
  selectedId = $state<string | null>(null);
  /**
   * The open conversation's latest copy, kept up to date by events even while it is not in the
   * loaded part of the list (e.g. an existing chat found by "new chat" that sorts below it).
   */
  private selectedItem = $state.raw<ConversationItem | null>(null);
  selected = $derived(
    this.items.find((c) => c.id === this.selectedId) ??
      (this.selectedItem?.id === this.selectedId ? this.selectedItem : null),
  );

  /** One journal per list page in flight: the conversation events that arrived meanwhile. */
  private journals = new Set<ConversationJournal>();
  /**
   * Groups this device left (`leave`), dropped from the list when the backend agreed, with the
   * number of list pages asked for by then. The backend may not tell this device about its own
   * leave, and an answer can overtake events sent before it: an event about such a group may be
   * older than the leave (and must not bring it back) or come from the user being added back.
   * Only the backend's list can tell, so such an event is not applied but makes the first page be
   * loaded again (`verify`); a page asked for after the leave that has the group ends this.
   */
  private left = new Map<string, number>();
  private pagesAsked = 0;
  /** Left groups that had events, waiting for the next verifying page. */
  private suspects = new Set<string>();
  private verifying: Promise<void> | null = null;
  private verifyAgain = false;
  private moreBlockedUntil = 0;
  private moreInFlight: Promise<void> | null = null;
  /**
   * The read marks this device sent (`mark_read`), by conversation. The backend moves its mark at
   * once but sends no event for it (the server tells only the user's other sessions), and the
   * copies it sent before still count the messages unread — among them the `conversation` event
   * that came with the very message being read. Every copy taken in is shown with this mark.
   */
  private readMarks = new Map<string, number>();

  constructor(
    private readonly session: Pick<SessionStore, 'account' | 'phase' | 'ready'>,
    private readonly toasts: ToastStore,
    private readonly hooks: {
      /**
       * Whether a group left here (that had events since) is there after all (the user was added
       * back) or not: decided by the backend's list.
       */
      verified?(id: string, present: boolean): void;
    } = {},
  ) {}

  /**
   * Loads the first page of the conversation list (at start-up and on `resync`) and merges it by id
   * with what is held: nothing is duplicated, and pages loaded further down stay.
   */
  async refreshFirstPage(preloaded?: ConversationItem[]): Promise<void> {
    const account = this.session.account;
    const journal = this.openJournal();
    const asked = ++this.pagesAsked;
    try {
      const limit = api.CONVERSATIONS_FIRST_PAGE;
      const page = preloaded ?? (await api.listConversations({ offset: 0, limit }));
      if (this.session.account !== account) return; // signed out meanwhile
      this.applyListMerge(mergeFirstPage(this.items, page, limit, journal));
      this.backAfterLeaving(page, asked);
    } catch (e) {
      if (this.session.account === account) this.toasts.show(api.toAppError(e));
    } finally {
      this.journals.delete(journal);
      if (this.session.account === account) this.loaded = true;
    }
  }

  /**
   * Loads the next page of the conversation list (`offset` = the number loaded), one at a time,
   * only after `ui_ready`, and not again for a while after a failure.
   */
  loadMore(): Promise<void> {
    if (this.moreInFlight) return this.moreInFlight;
    if (this.session.phase !== 'main' || !this.session.ready || !this.loaded) return Promise.resolve();
    if (this.complete || this.loadingMore || Date.now() < this.moreBlockedUntil) return Promise.resolve();
    const page: Promise<void> = this.loadNextPage().finally(() => {
      if (this.moreInFlight === page) this.moreInFlight = null;
    });
    this.moreInFlight = page;
    return page;
  }

  /**
   * Loads pages until the conversation is among the loaded ones (a search hit's conversation far
   * down the list) or the list ends; true when it is there.
   */
  async loadUntilListed(id: string): Promise<boolean> {
    while (!this.find(id)) {
      const held = this.items.length;
      if (this.complete || !this.loaded) return false;
      await this.loadMore();
      if (this.items.length <= held && !this.find(id)) return false; // no progress (failed, or not yet allowed)
    }
    return true;
  }

  private async loadNextPage(): Promise<void> {
    const account = this.session.account;
    const journal = this.openJournal();
    this.loadingMore = true;
    try {
      const limit = api.CONVERSATIONS_NEXT_PAGE;
      const held = this.items.length;
      const asked = ++this.pagesAsked;
      const page = await api.listConversations({ offset: held, limit });
      if (this.session.account !== account) return;
      const merged = mergePage(this.items, page, limit, journal);
      // A full page that added nothing (the list moved under us): do not ask again at once.
      if (!merged.complete && merged.items.length <= held) this.moreBlockedUntil = Date.now() + MORE_RETRY_MS;
      this.applyListMerge(merged);
      this.backAfterLeaving(page, asked);
    } catch (e) {
      if (this.session.account !== account) return;
      this.moreBlockedUntil = Date.now() + MORE_RETRY_MS;
      this.toasts.show(api.toAppError(e));
    } finally {
      this.journals.delete(journal);
      if (this.session.account === account) this.loadingMore = false;
    }
  }

  private openJournal(): ConversationJournal {
    const journal: ConversationJournal = new Map();
    this.journals.add(journal);
    return journal;
  }

  private applyListMerge(merged: ListMerge): void {
    this.items = this.readMarks.size ? merged.items.map((c) => this.withOwnReadMark(c)) : merged.items;
    this.complete = merged.complete;
  }

  /** A copy from the backend with the read mark this device sent, if that is ahead of it. */
  private withOwnReadMark(item: ConversationItem): ConversationItem {
    const seq = this.readMarks.get(item.id);
    return seq === undefined ? item : withReadMark(item, seq);
  }

  /** The read mark this device sent for a conversation (0: none). */
  readMark(id: string): number {
    return this.readMarks.get(id) ?? 0;
  }

  /** This device marked a conversation read up to `seq`: its badge goes at once, and stays gone. */
  markRead(id: string, seq: number): void {
    if (seq <= this.readMark(id)) return;
    this.readMarks.set(id, seq);
    this.patch(id, (c) => withReadMark(c, seq));
  }

  /** The backend refused that mark: the next copies are taken as they come. */
  markReadFailed(id: string, seq: number): void {
    if (this.readMarks.get(id) === seq) this.readMarks.delete(id);
  }

  /** A `conversation` event (or a created conversation): into the list if it belongs to the loaded part. */
  upsert(received: ConversationItem): void {
    const item = this.withOwnReadMark(received);
    this.items = upsertLoaded(this.items, item, this.complete);
    if (item.id === this.selectedId) {
      const old = this.selectedItem?.id === item.id ? this.selectedItem : null;
      this.selectedItem =
        this.items.find((c) => c.id === item.id) ??
        (old && old.peerReadSeq > item.peerReadSeq ? { ...item, peerReadSeq: old.peerReadSeq } : item);
    }
  }

  /**
   * The answer of a command that returns a conversation (create_conversation) put into the list.
   * A `conversation` event for it that arrived while the command ran is newer than the answer and
   * was applied already: then that copy is kept (null if it was removed meanwhile).
   */
  async applyAnswer(command: Promise<ConversationItem>): Promise<ConversationItem | null> {
    const meanwhile = this.openJournal();
    try {
      const item = await command;
      if (meanwhile.has(item.id)) return meanwhile.get(item.id) ?? null;
      this.upsert(item);
      return item;
    } finally {
      this.journals.delete(meanwhile);
    }
  }

  /** A `conversation` event: also noted for the pages in flight, so they cannot undo it. */
  conversationEvent(item: ConversationItem): void {
    if (this.left.has(item.id)) {
      this.verify(item.id); // older than the leave, or the user was added back: the list decides
      return;
    }
    for (const j of this.journals) j.set(item.id, item);
    this.upsert(item);
  }

  /** A `conversationRemoved` event. (Closing it, if open, is the caller's business.) */
  removed(id: string): void {
    for (const j of this.journals) j.set(id, null);
    this.items = removeConversation(this.items, id);
    this.readMarks.delete(id);
  }

  /**
   * An `addedToGroup` event (it follows the group's `conversation` event). True when it concerns
   * a group left here whose fate the backend's list must decide first (its notice waits for
   * `verified`).
   */
  addedToGroup(id: string): boolean {
    if (!this.left.has(id)) return false;
    this.verify(id);
    return true;
  }

  /**
   * Leaves a group (rejects with the backend's error). Once the backend has agreed, the group goes
   * from the list; then the first page is loaded again, in case events about it overtook the
   * answer (see `left`).
   */
  async leave(id: string): Promise<void> {
    await api.leaveConversation({ conversationId: id });
    this.left.set(id, this.pagesAsked);
    this.removed(id);
    this.verify(id);
  }

  /** A page asked for after leaving a group has it: the user was added back. */
  private backAfterLeaving(page: readonly ConversationItem[], asked: number): void {
    if (this.left.size === 0) return;
    for (const c of page) {
      const at = this.left.get(c.id);
      if (at === undefined || asked <= at) continue;
      const held = this.items.find((x) => x.id === c.id);
      if (!held) {
        // A `conversationRemoved` that arrived while the page was on its way took it out again:
        // newer than the page, or sent before it (the leave's own)? Another page decides.
        this.verify(c.id);
        continue;
      }
      this.left.delete(c.id);
      this.suspects.delete(c.id);
      // The pages still on their way were asked for before this one: they may not have it yet
      // (or were told of the leave), and nothing they were told about it since is newer than it.
      for (const j of this.journals) j.set(c.id, held);
      this.hooks.verified?.(c.id, true);
    }
  }

  /**
   * Loads the first page again until one arrives with no event about a left group on the way
   * meanwhile; then the groups still missing from it are gone indeed.
   */
  private verify(id: string): void {
    this.suspects.add(id);
    if (this.verifying) {
      this.verifyAgain = true;
      return;
    }
    const account = this.session.account;
    const run = async () => {
      const ids = new Set<string>();
      do {
        this.verifyAgain = false;
        for (const x of this.suspects) ids.add(x);
        this.suspects.clear();
        await this.refreshFirstPage();
      } while (this.verifyAgain && this.session.account === account);
      if (this.session.account !== account) return;
      for (const x of ids) if (this.left.has(x)) this.hooks.verified?.(x, false);
    };
    this.verifying = run().finally(() => (this.verifying = null));
  }

  /**
   * Mutes or un-mutes a conversation (rejects with the backend's error). The backend also sends
   * the conversation's `conversation` event: if that (or any newer copy) arrived first, it wins.
   */
  async setMuted(id: string, muted: boolean): Promise<void> {
    const meanwhile = this.openJournal();
    try {
      await api.setMuted({ conversationId: id, muted });
      if (!meanwhile.has(id)) this.patch(id, (c) => (c.muted === muted ? c : { ...c, muted }));
    } finally {
      this.journals.delete(meanwhile);
    }
  }

  /** The held copies of a conversation (in the list, and the open one) changed in place. */
  private patch(id: string, f: (c: ConversationItem) => ConversationItem): void {
    const idx = this.items.findIndex((c) => c.id === id);
    if (idx !== -1) {
      const next = f(this.items[idx]);
      if (next !== this.items[idx]) {
        const items = this.items.slice();
        items[idx] = next;
        this.items = items;
      }
    }
    if (this.selectedItem?.id === id) this.selectedItem = f(this.selectedItem);
  }

  /** A conversation by id: a loaded one, or the open one. */
  find(id: string): ConversationItem | null {
    return this.items.find((c) => c.id === id) ?? (this.selectedItem?.id === id ? this.selectedItem : null);
  }

  /** A message (event, or the answer of send / retry): the preview and the order follow at once. */
  applyMessage(msg: UiMessage): void {
    this.items = applyMessageToList(this.items, msg);
    if (this.selectedItem?.id === msg.conversationId) this.selectedItem = applyMessageToList([this.selectedItem], msg)[0];
  }

  /** A message edited or recalled (event or answer): the preview follows if it is a last message. */
  applyUpdate(msg: UiMessage): void {
    this.items = applyUpdateToList(this.items, msg);
    if (this.selectedItem?.id === msg.conversationId) this.selectedItem = applyUpdateToList([this.selectedItem], msg)[0];
  }

  /**
   * A message deleted on this device: a list item whose last message it was shows `previous`
   * instead (when known; the backend's `conversation` event has the last word).
   */
  messageDeleted(conversationId: string, clientId: string, previous: UiMessage | null): void {
    this.items = replaceDeletedLast(this.items, conversationId, clientId, previous);
    if (this.selectedItem?.id === conversationId) {
      this.selectedItem = replaceDeletedLast([this.selectedItem], conversationId, clientId, previous)[0];
    }
  }

  /** Another member read up to readSeq: raises peerReadSeq (the read ticks). */
  receipt(e: Extract<ImEvent, { kind: 'receipt' }>, myUid: string | null | undefined): void {
    this.items = applyReceipt(this.items, e, myUid);
    if (this.selectedItem?.id === e.conversationId) this.selectedItem = applyReceipt([this.selectedItem], e, myUid)[0];
  }

  /** Makes `id` the open conversation (null: none). */
  select(id: string | null): void {
    const known = this.selectedItem?.id === id ? this.selectedItem : null;
    this.selectedItem = id ? (this.items.find((c) => c.id === id) ?? known) : null;
    this.selectedId = id;
  }

  /** A conversation about to be opened that may lie beyond the loaded part (found by "new chat"). */
  remember(item: ConversationItem): void {
    if (this.selectedId !== item.id) this.selectedItem = this.withOwnReadMark(item);
  }

  reset(): void {
    this.items = [];
    this.loaded = false;
    this.complete = false;
    this.loadingMore = false;
    this.moreInFlight = null;
    this.moreBlockedUntil = 0;
    this.selectedId = null;
    this.selectedItem = null;
    this.left.clear();
    this.suspects.clear();
    this.readMarks.clear();
    this.verifyAgain = false;
  }
}
