// The app's state (Svelte 5 runes) and the glue between the backend and the components.
//
// The state is kept in focused stores (`./stores/`): the session (account, start-up, signing in
// and out), the conversation list, the threads (messages per conversation), the toasts, the
// preferences, and a thin router that hands each backend event to them. `App` wires them
// together, does what spans several of them (opening a conversation, resync), and offers the
// components the one `app` object they use. The logic itself lives in the plain modules next to
// this one, which the unit tests cover.
import * as api from './api';
import type { Account, AppError, AppInfo, ConversationItem, ImEvent, UiMessage, UserInfo } from './api';
import { BlockStore } from './stores/blocks.svelte';
import { CacheStore } from './stores/cache.svelte';
import { DeviceStore } from './stores/devices.svelte';
import { DesktopSettingsStore } from './stores/desktopSettings.svelte';
import { ConversationListStore } from './stores/conversationList.svelte';
import { NoticeStore, type AddedNotice } from './stores/notices.svelte';
import { PreferenceStore } from './stores/preferences.svelte';
import { routeEvent, type EventTargets } from './stores/events';
import { SessionStore } from './stores/session.svelte';
import { Thread, ThreadStore } from './stores/threads.svelte';
import { ToastStore } from './stores/toasts.svelte';
import { SearchStore } from './stores/search.svelte';
import { GroupInfoStore } from './stores/groupInfo.svelte';
import { MemberStore } from './stores/members.svelte';
import { UpdateStore } from './stores/updates.svelte';
import type { ComposerState } from './composer';
import type { MentionPick, MentionsToSend } from './mentions';
import { similarNames, type Person } from './identity';
import { adjacentConversation } from './shortcuts';
import { locale, t } from './i18n';

export { DEFAULT_SERVER_URL } from './stores/session.svelte';
export { PAGE_SIZE, Thread } from './stores/threads.svelte';
export type { Toast } from './stores/toasts.svelte';
export type { AddedNotice } from './stores/notices.svelte';

/** A group the user is asked to confirm leaving. */
export type LeaveRequest = { conversationId: string; title: string };

/** A message the user is asked to confirm recalling (for everyone) or deleting (on this device). */
export type MessageRequest = { kind: 'recall' | 'delete'; message: UiMessage };

/**
 * A message to bring into view in the open conversation (a search hit): the message list scrolls
 * to it and flashes it, once (`id` tells one jump from the next, also to the same message).
 */
export type JumpTarget = { id: number; conversationId: string; seq: number; clientId: string };

export class App {
  readonly toastStore = new ToastStore();
  readonly session: SessionStore;
  readonly list: ConversationListStore;
  readonly threadStore: ThreadStore;
  readonly blocks: BlockStore;
  readonly devices: DeviceStore;
  readonly noticeStore = new NoticeStore();
  readonly preferences = new PreferenceStore(this.toastStore);
  /** This computer's settings kept by the backend (close to tray, start at sign-in, pausing notifications). */
  readonly desktop = new DesktopSettingsStore(this.toastStore);
  /** The app's self-update (the main screen's banner, Settings' About section). */
  readonly updates = new UpdateStore(this.toastStore);
  /** The messages kept on this computer (Settings' Storage section). */
  readonly cache: CacheStore;
  /** The message search (Ctrl+F) over the conversation list. */
  readonly search = new SearchStore();
  /** The members of groups (the @mention picker, the mentions highlighted in messages). */
  readonly members = new MemberStore();
  /** The message the open conversation's view is to scroll to and flash (see `openMessage`). */
  jumpTarget = $state.raw<JumpTarget | null>(null);

  /** The current time, refreshed every 30 s so "today"/"yesterday" labels roll over. */
  now = $state(Date.now());
  newChatOpen = $state(false);
  /** The "Blocked users" dialog is open. */
  blockedUsersOpen = $state(false);
  /** The Settings dialog (account, password, devices) is open. */
  settingsOpen = $state(false);
  /** The quick switcher (Ctrl+K: find a conversation or a person) is open. */
  quickSwitcherOpen = $state(false);
  /** The "Leave group?" confirmation is open for this group. */
  leaveRequest = $state.raw<LeaveRequest | null>(null);
  /** The "Block @username?" confirmation is open for this person. */
  blockRequest = $state.raw<UserInfo | null>(null);
  /** The "Recall this message?" / "Delete this message for you?" confirmation is open for this message. */
  messageRequest = $state.raw<MessageRequest | null>(null);
  /** The "Group info" dialog is open, for this group (see `openGroupInfo`). */
  groupInfo = $state.raw<GroupInfoStore | null>(null);

  currentThread = $derived.by((): Thread | null => {
    const id = this.list.selectedId;
    return id ? (this.threadStore.threads.get(id) ?? null) : null;
  });

  /**
   * Everyone the UI can name (the user's contacts as far as it knows them): me, the other person
   * of each loaded 1:1 chat (and of the open one), and the senders of the open conversation.
   */
  people = $derived.by((): Person[] => {
    const people: Person[] = [];
    const me = this.session.account;
    if (me) people.push(me);
    for (const c of this.list.items) if (c.peer) people.push(c.peer);
    const open = this.list.selected;
    if (open?.peer) people.push(open.peer);
    const thread = this.currentThread;
    if (thread && open?.type === 'GROUP_CHAT') {
      const seen = new Set<string>();
      for (const m of thread.messages) {
        if (m.own || seen.has(m.from)) continue;
        seen.add(m.from);
        people.push({ uid: m.from, username: '', displayName: m.fromName });
      }
    }
    return people;
  });
  /** For each person whose display name looks like another's (see `similarNames`): those others. */
  similar = $derived(similarNames(this.people));
  /** uid → username, for the people whose username is known (to show `@username` beside a name). */
  usernames = $derived(new Map(this.people.filter((p) => p.username).map((p) => [p.uid, p.username])));

  private jumps = 0;
  private resyncing: Promise<void> | null = null;
  private resyncAgain = false;
  private clock: ReturnType<typeof setInterval> | undefined;
  private readonly targets: EventTargets;

  constructor() {
    this.session = new SessionStore(this.toastStore, {
      listen: () => api.onImEvent((e) => this.onEvent(e)),
      signedIn: (firstPage) => {
        // Whom the user blocks (the banner of a blocked 1:1 chat); offline it waits for `online`.
        this.blocks.ensureLoaded();
        return this.list.refreshFirstPage(firstPage);
      },
      signedOut: () => {
        this.list.reset();
        this.threadStore.reset();
        this.blocks.reset();
        this.devices.reset();
        this.cache.reset();
        this.noticeStore.reset();
        this.members.reset();
        this.newChatOpen = false;
        this.blockedUsersOpen = false;
        this.settingsOpen = false;
        this.quickSwitcherOpen = false;
        this.search.close();
        this.jumpTarget = null;
        this.jumps++;
        this.leaveRequest = null;
        this.blockRequest = null;
        this.messageRequest = null;
        this.closeGroupInfo();
      },
      windowBack: () => this.threadStore.maybeMarkRead(),
      online: () => this.blocks.ensureLoaded(),
    });
    this.blocks = new BlockStore({
      toasts: this.toastStore,
      account: () => this.session.account,
      person: (uid) => this.people.find((p) => p.uid === uid && p.username) ?? null,
    });
    this.devices = new DeviceStore({ account: () => this.session.account });
    this.cache = new CacheStore({
      account: () => this.session.account,
      // The cached history is gone: reload what is shown, as after a resync.
      cleared: () => void this.resync(),
    });
    this.list = new ConversationListStore(this.session, this.toastStore, {
      verified: (id, present) => this.noticeStore.release(id, present),
    });
    this.threadStore = new ThreadStore({
      toasts: this.toastStore,
      phase: () => this.session.phase,
      selectedId: () => this.list.selectedId,
      selected: () => this.list.selected,
      applyMessage: (msg) => {
        this.threadStore.applyMessage(msg);
        this.list.applyMessage(msg);
      },
      applyUpdate: (msg) => {
        this.threadStore.applyUpdate(msg);
        this.list.applyUpdate(msg);
      },
      myName: () => this.session.account?.displayName ?? '',
      messageDeleted: (id, clientId, previous) => this.list.messageDeleted(id, clientId, previous),
      readMark: (id) => this.list.readMark(id),
      markRead: (id, seq) => this.list.markRead(id, seq),
      markReadFailed: (id, seq) => this.list.markReadFailed(id, seq),
    });
    this.targets = {
      session: this.session,
      list: this.list,
      threads: this.threadStore,
      toasts: this.toastStore,
      blocks: this.blocks,
      notices: this.noticeStore,
      desktop: this.desktop,
      updates: this.updates,
      groupInfo: () => this.groupInfo,
      closeGroupInfo: () => this.closeGroupInfo(),
      resync: () => void this.resync(),
      close: () => void this.select(null),
      open: (id) => void this.select(id),
    };
  }

  // --- start-up and session -------------------------------------------------------------------

  /**
   * Start: subscribe to events, read app info, try to restore the saved session; then tell the
   * backend the preferences, and read where the self-update stands (its events follow it).
   */
  async boot(): Promise<void> {
    this.clock ??= setInterval(() => (this.now = Date.now()), 30_000);
    await this.session.boot();
    await this.preferences.send();
    if (!this.updates.loaded) void this.updates.load();
  }

  notifyReady(): void {
    this.session.notifyReady();
  }

  signIn(a: api.SignInArgs): Promise<void> {
    return this.session.signIn(a);
  }

  signUp(a: api.SignUpArgs): Promise<void> {
    return this.session.signUp(a);
  }

  /** Signs out; with `forgetData` this account's messages are also removed from this computer. */
  signOut(opts: { forgetData?: boolean } = {}): Promise<void> {
    return this.session.signOut(opts);
  }

  get phase() {
    return this.session.phase;
  }
  set phase(v) {
    this.session.phase = v;
  }
  get info(): AppInfo | null {
    return this.session.info;
  }
  set info(v: AppInfo | null) {
    this.session.info = v;
  }
  get account(): Account | null {
    return this.session.account;
  }
  set account(v: Account | null) {
    this.session.account = v;
  }
  get authError(): AppError | null {
    return this.session.authError;
  }
  set authError(v: AppError | null) {
    this.session.authError = v;
  }
  get signedOutReason(): string | null {
    return this.session.signedOutReason;
  }
  set signedOutReason(v: string | null) {
    this.session.signedOutReason = v;
  }
  get lastServerUrl(): string | null {
    return this.session.lastServerUrl;
  }
  set lastServerUrl(v: string | null) {
    this.session.lastServerUrl = v;
  }
  get lastUsername(): string | null {
    return this.session.lastUsername;
  }
  set lastUsername(v: string | null) {
    this.session.lastUsername = v;
  }
  get ready(): boolean {
    return this.session.ready;
  }
  set ready(v: boolean) {
    this.session.ready = v;
  }
  get connection() {
    return this.session.connection;
  }
  get connectionSince(): number {
    return this.session.connectionSince;
  }
  get maxTextChars(): number {
    return this.session.maxTextChars;
  }

  // --- conversation list ----------------------------------------------------------------------

  get conversations(): ConversationItem[] {
    return this.list.items;
  }
  set conversations(v: ConversationItem[]) {
    this.list.items = v;
  }
  get conversationsLoaded(): boolean {
    return this.list.loaded;
  }
  set conversationsLoaded(v: boolean) {
    this.list.loaded = v;
  }
  get conversationsComplete(): boolean {
    return this.list.complete;
  }
  set conversationsComplete(v: boolean) {
    this.list.complete = v;
  }
  get loadingMoreConversations(): boolean {
    return this.list.loadingMore;
  }
  get selectedId(): string | null {
    return this.list.selectedId;
  }
  set selectedId(v: string | null) {
    this.list.selectedId = v;
  }
  get selected(): ConversationItem | null {
    return this.list.selected;
  }

  refreshConversations(preloaded?: ConversationItem[]): Promise<void> {
    return this.list.refreshFirstPage(preloaded);
  }

  loadMoreConversations(): Promise<void> {
    return this.list.loadMore();
  }

  /** Opens a conversation (or closes the open one with null). */
  async select(id: string | null): Promise<void> {
    if (this.list.selectedId === id) return;
    if (this.jumpTarget && this.jumpTarget.conversationId !== id) this.jumpTarget = null;
    const thread = id ? this.threadStore.open(id) : undefined;
    this.list.select(id);
    api.setActiveConversation({ conversationId: id }).catch((e) => this.toastStore.report(e, 'set_active_conversation'));
    if (thread) await this.threadStore.loadNewest(thread);
  }

  /**
   * Opens a conversation at one of its messages (a search hit): the conversation opens (its list
   * pages are loaded until it is among them, if need be), older pages of its history are loaded
   * until the message is there, and `jumpTarget` then tells the message list to scroll to it and
   * flash it. A message that cannot be reached (the history ends before it, a page failed) or a
   * conversation no longer in the list is a toast. Opening another message (or conversation)
   * meanwhile makes this one give up. Resolves to whether the message was reached.
   */
  async openMessage(conversationId: string, seq: number | null): Promise<boolean> {
    const mine = ++this.jumps;
    this.jumpTarget = null;
    const current = () => mine === this.jumps && this.session.phase === 'main';
    if (!this.list.find(conversationId) && !(await this.list.loadUntilListed(conversationId))) {
      if (current()) this.toastStore.show(t('search.conversationGone'));
      return false;
    }
    if (!current()) return false;
    await this.select(conversationId);
    if (!current() || this.list.selectedId !== conversationId) return false;
    const thread = this.threadStore.threads.get(conversationId);
    if (!thread || seq === null) return false;
    const stillWanted = () => current() && this.list.selectedId === conversationId;
    const message = await this.threadStore.reveal(thread, seq, stillWanted);
    if (!stillWanted()) return false;
    if (!message) {
      this.toastStore.show(t('search.notReached'));
      return false;
    }
    this.jumpTarget = { id: mine, conversationId, seq, clientId: message.clientId };
    return true;
  }

  async createConversation(userIds: string[], title: string, unique: boolean): Promise<ConversationItem> {
    let c: ConversationItem | undefined;
    const latest = await this.list.applyAnswer(api.createConversation({ userIds, title, unique }).then((x) => (c = x)));
    if (!latest) return c!; // removed while it was being created: nothing to open
    // An existing chat below the loaded part of the list is not in it: it opens all the same.
    this.list.remember(latest);
    await this.select(latest.id);
    return latest;
  }

  /**
   * Opens the 1:1 chat with this person, creating it if there is none (`unique`): the new chat
   * dialog's "Start chat" and the quick switcher's "Start a chat with @name".
   */
  startChat(user: UserInfo): Promise<ConversationItem> {
    return this.createConversation([user.uid], '', true);
  }

  /**
   * Alt+↑ (`step` -1) / Alt+↓ (+1): opens the previous / next conversation of the list (from none
   * open, the first). Past the last loaded one the next page is loaded first. Resolves to the id
   * opened, or null at either end.
   */
  async selectAdjacent(step: 1 | -1): Promise<string | null> {
    const ids = () => this.list.items.map((c) => c.id);
    let next = adjacentConversation(ids(), this.list.selectedId, step);
    if (next === null && step === 1 && !this.list.complete && this.list.items.length > 0) {
      await this.list.loadMore();
      next = adjacentConversation(ids(), this.list.selectedId, step);
    }
    if (next === null) return null;
    await this.select(next);
    return next;
  }

  /** Ctrl+W: the backend closes the window; a failure is a toast. */
  async closeWindow(): Promise<void> {
    try {
      await api.closeWindow();
    } catch (e) {
      this.toastStore.report(e, 'close_window');
    }
  }

  /** Ctrl+Q: the backend quits the app; a failure is a toast. */
  async quitApp(): Promise<void> {
    try {
      await api.quitApp();
    } catch (e) {
      this.toastStore.report(e, 'quit_app');
    }
  }

  /**
   * The backend's `resync`: events may have been missed, so reload the conversation list and the
   * newest page of the open conversation (merged by clientId, never duplicated). A resync arriving
   * while one runs makes it run once more afterwards.
   */
  resync(): Promise<void> {
    if (this.session.phase !== 'main') return Promise.resolve();
    if (this.resyncing) {
      this.resyncAgain = true;
      return this.resyncing;
    }
    const run = async () => {
      do {
        this.resyncAgain = false;
        const thread = this.currentThread;
        await Promise.all([
          this.list.refreshFirstPage(),
          thread ? this.threadStore.loadNewest(thread) : null,
          this.blocks.load({ quiet: true }),
          this.groupInfo?.load(),
        ]);
      } while (this.resyncAgain && this.session.phase === 'main');
    };
    this.resyncing = run().finally(() => (this.resyncing = null));
    return this.resyncing;
  }

  /** A conversation by id: a loaded one, or the open one. */
  conversationById(id: string): ConversationItem | null {
    return this.list.find(id);
  }

  // --- mute, leave, block ---------------------------------------------------------------------

  /** Mutes or un-mutes a conversation (on all the user's devices); false (with a toast) on failure. */
  async setMuted(conversationId: string, muted: boolean): Promise<boolean> {
    try {
      await this.list.setMuted(conversationId, muted);
      return true;
    } catch (e) {
      this.toastStore.show(api.toAppError(e));
      return false;
    }
  }

  /**
   * Opens the "Group info" dialog of a group: its title, remark and members, kept up to date by
   * the group's `conversation` events while it is open.
   */
  openGroupInfo(conversationId: string): GroupInfoStore {
    this.groupInfo?.dispose();
    const store = new GroupInfoStore(conversationId, this.list.find(conversationId), () => this.session.account?.uid ?? null);
    this.groupInfo = store;
    void store.load();
    return store;
  }

  closeGroupInfo(): void {
    this.groupInfo?.dispose();
    this.groupInfo = null;
  }

  /** Asks the user to confirm leaving a group (the dialog then calls `leaveConversation`). */
  askLeave(conversationId: string, title: string): void {
    this.leaveRequest = { conversationId, title };
  }

  /**
   * Leaves a group: it goes from the list (and closes if open), its thread and draft too, and its
   * notice (unless the backend's list then shows the user was added back meanwhile). False (with
   * a toast) when the backend refused.
   */
  async leaveConversation(conversationId: string): Promise<boolean> {
    try {
      await this.list.leave(conversationId);
    } catch (e) {
      this.toastStore.show(api.toAppError(e));
      return false;
    }
    this.threadStore.remove(conversationId);
    this.members.remove(conversationId);
    this.noticeStore.hold(conversationId);
    if (this.groupInfo?.conversationId === conversationId) this.closeGroupInfo();
    if (this.list.selectedId === conversationId) void this.select(null);
    return true;
  }

  /** Asks the user to confirm blocking someone (the dialog then calls `blockUser`). */
  askBlock(user: UserInfo): void {
    this.blockRequest = user;
  }

  blockUser(user: UserInfo): Promise<boolean> {
    return this.blocks.block(user);
  }

  unblockUser(uid: string): Promise<boolean> {
    return this.blocks.unblock(uid);
  }

  /** Whether the user blocks this person. */
  isBlocked(uid: string | null | undefined): boolean {
    return this.blocks.isBlocked(uid);
  }

  /** Loads the blocked list (the dialog); a failure is a toast. */
  loadBlocked(): Promise<boolean> {
    return this.blocks.load();
  }

  // --- settings: password and devices ----------------------------------------------------------

  /**
   * Changes the password (rejects with the backend's `AppError`, which the form shows). On success
   * every other device is signed out: a toast says so.
   */
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    await this.devices.changePassword(oldPassword, newPassword);
    this.toastStore.info(t('settings.passwordChanged'));
  }

  /**
   * Clears the messages kept on this computer (Settings' "Clear cache…", once confirmed): the
   * usage after it shows, and the list and the open conversation load again. False (with a toast)
   * when the backend refused.
   */
  async clearCache(): Promise<boolean> {
    const error = await this.cache.clear();
    if (error) this.toastStore.show(error);
    return !error;
  }

  /** The "added you to a group" notices, oldest first. */
  get notices(): AddedNotice[] {
    return this.noticeStore.notices;
  }

  /** The notices on screen (the newest few). */
  get shownNotices(): AddedNotice[] {
    return this.noticeStore.shown;
  }

  dismissNotice(id: number): void {
    this.noticeStore.dismiss(id);
  }

  // --- threads --------------------------------------------------------------------------------

  get threads() {
    return this.threadStore.threads;
  }
  get drafts() {
    return this.threadStore.drafts;
  }
  get typing() {
    return this.threadStore.typing;
  }
  get typingVersion(): number {
    return this.threadStore.typingVersion;
  }

  loadNewest(thread: Thread): Promise<void> {
    return this.threadStore.loadNewest(thread);
  }

  loadOlder(thread: Thread): Promise<boolean> {
    return this.threadStore.loadOlder(thread);
  }

  /** Sends a text (`replyTo`: the seq of the message it replies to; `mentions`: whom it mentions). */
  send(conversationId: string, text: string, replyTo: number | null = null, mentions?: MentionsToSend): Promise<boolean> {
    return this.threadStore.send(conversationId, text, replyTo, mentions);
  }

  /** The mentions chosen in a conversation's composer (the member picker). */
  mentionPicks(conversationId: string): MentionPick[] {
    return this.threadStore.mentionPicksOf(conversationId);
  }

  setMentionPicks(conversationId: string, picks: MentionPick[]): void {
    this.threadStore.setMentionPicks(conversationId, picks);
  }

  /**
   * A quick reaction of the actions menu, or a click on a reaction under a message: the user's
   * reaction with this emoji goes on (or off, when they have it). False (with a toast) when refused.
   */
  react(m: UiMessage, emoji: string): Promise<boolean> {
    return this.threadStore.react(m, emoji);
  }

  // --- what is done to a message: reply, copy, edit, recall, delete for me --------------------

  /** The actions menu's Reply: the composer quotes the message. */
  startReply(m: UiMessage): void {
    this.threadStore.startReply(m);
  }

  /** The actions menu's Edit (or ↑ in an empty composer): the composer takes the message's text. */
  startEdit(m: UiMessage): void {
    this.threadStore.startEdit(m);
  }

  /** A conversation's composer: its text and what it is doing (replying, editing). */
  composer(conversationId: string): ComposerState {
    return this.threadStore.composer(conversationId);
  }

  /** Puts a composer's text and context (the composer's own changes: sent, a failed send undone). */
  setComposer(conversationId: string, state: ComposerState): void {
    this.threadStore.setComposer(conversationId, state);
  }

  /** × or Esc in the composer: the reply dropped, or the edit left. */
  cancelComposerContext(conversationId: string): void {
    this.threadStore.cancelComposerContext(conversationId);
  }

  /** Enter while editing: saves (see `ThreadStore.saveEdit`). */
  saveEdit(conversationId: string): Promise<boolean> {
    return this.threadStore.saveEdit(conversationId);
  }

  /** "Re-edit" on the recall line of an own text: it comes back into the composer. */
  reEdit(m: UiMessage): boolean {
    return this.threadStore.reEdit(m, Math.max(this.now, Date.now()));
  }

  /** The own text recalled from this device that "Re-edit" can still put back, if any. */
  recalledText(m: UiMessage) {
    return this.threadStore.recalledText(m, this.now);
  }

  /** The actions menu's Recall / Delete for me: asks first (the dialog then calls recall / delete). */
  askMessage(kind: 'recall' | 'delete', message: UiMessage): void {
    this.messageRequest = { kind, message };
  }

  recallMessage(m: UiMessage): Promise<boolean> {
    return this.threadStore.recallMessage(m);
  }

  deleteForMe(m: UiMessage): Promise<boolean> {
    return this.threadStore.deleteForMe(m);
  }

  /** The actions menu's Copy text: to the clipboard (a toast says it was copied, or why not). */
  async copyText(text: string): Promise<boolean> {
    try {
      await navigator.clipboard.writeText(text);
      this.toastStore.info(t('msg.copied'));
      return true;
    } catch (e) {
      console.warn('[gtedx] copying failed:', e);
      this.toastStore.show(t('msg.copyFailed'));
      return false;
    }
  }

  /**
   * A reply's quote was clicked: to the message it replies to (older pages are loaded until it is
   * there, as for a search hit), which the message list then scrolls to and flashes. Resolves to
   * whether it was reached (a toast says when it was not).
   */
  openOriginal(m: UiMessage): Promise<boolean> {
    const seq = m.replyTo?.seq;
    if (seq === undefined) return Promise.resolve(false);
    if (this.threadStore.isDeleted({ conversationId: m.conversationId, clientId: '', seq })) {
      this.toastStore.show(t('search.notReached'));
      return Promise.resolve(false);
    }
    return this.openMessage(m.conversationId, seq);
  }

  retry(msg: UiMessage): Promise<void> {
    return this.threadStore.retry(msg);
  }

  setTyping(conversationId: string, typing: boolean): void {
    this.threadStore.setTyping(conversationId, typing);
  }

  typingNames(conversationId: string): string[] {
    return this.threadStore.typingNames(conversationId);
  }

  maybeMarkRead(): void {
    this.threadStore.maybeMarkRead();
  }

  /** The message list has scrolled to the jump target (it is not done again). */
  jumpDone(id: number): void {
    if (this.jumpTarget?.id === id) this.jumpTarget = null;
  }

  /** The message view of a conversation left its bottom (scrolled up) or came back to it. */
  setViewAtBottom(conversationId: string, atBottom: boolean): void {
    this.threadStore.setViewAtBottom(conversationId, atBottom);
  }

  // --- toasts ---------------------------------------------------------------------------------

  get toasts() {
    return this.toastStore.toasts;
  }

  toast(err: AppError | string): void {
    this.toastStore.show(err);
  }

  /** Something unexpected failed: logged, and shown as a toast. */
  report(e: unknown, context?: string): void {
    this.toastStore.report(e, context);
  }

  dismissToast(id: number): void {
    this.toastStore.dismiss(id);
  }

  // --- events ---------------------------------------------------------------------------------

  private onEvent(e: ImEvent): void {
    routeEvent(e, this.targets);
  }

  /** Stops the clock (for tests that make many apps). */
  dispose(): void {
    clearInterval(this.clock);
  }
}

/** A new, independent app state (the app has one: `app`; tests make their own). */
export function createApp(): App {
  return new App();
}

export const app = createApp();
export { t, locale };
