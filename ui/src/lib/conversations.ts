// The conversation list: ordering, updates from events, and the preview line.
import type { ConversationItem, UiMessage } from './api';
import type { Translate } from './i18n';
import { compareRevisions, pickVersion } from './messages';
import { isValidTime } from './time';

/** The sort key: `lastActivity`, or 0 when the backend sent none (or garbage) so sorting stays total. */
function activityOf(c: ConversationItem): number {
  return isValidTime(c.lastActivity) ? c.lastActivity : 0;
}

/** Most recent activity first; ties broken by id so the order is stable. */
export function compareConversations(a: ConversationItem, b: ConversationItem): number {
  return activityOf(b) - activityOf(a) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function sortConversations(list: readonly ConversationItem[]): ConversationItem[] {
  return [...list].sort(compareConversations);
}

/**
 * A fresh copy of a conversation replacing the one we hold. Read marks only grow, so a copy
 * that raced with a newer receipt does not take a read tick back.
 */
function keepReadMarks(old: ConversationItem | undefined, item: ConversationItem): ConversationItem {
  if (!old) return item;
  const kept = keepNewerLast(old, item);
  if (old.peerReadSeq <= kept.peerReadSeq) return kept;
  return { ...kept, peerReadSeq: old.peerReadSeq };
}

/**
 * `item`, but with the last message of `old` when that is the same message in a later revision
 * (edited or recalled since `item` was made: an answer overtook the copy), so the preview does not
 * go back.
 */
function keepNewerLast(old: ConversationItem, item: ConversationItem): ConversationItem {
  const a = old.lastMessage;
  const b = item.lastMessage;
  if (!a || !b || a === b || a.clientId !== b.clientId || compareRevisions(a, b) <= 0) return item;
  return { ...item, lastMessage: a };
}

/** Inserts an item (not in the list) at its sorted place; a new array. */
function insertSorted(list: readonly ConversationItem[], item: ConversationItem): ConversationItem[] {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareConversations(list[mid], item) <= 0) lo = mid + 1;
    else hi = mid;
  }
  const next = list.slice();
  next.splice(lo, 0, item);
  return next;
}

/** Replaces (by id) or adds a conversation, keeping the list sorted. */
export function upsertConversation(list: readonly ConversationItem[], item: ConversationItem): ConversationItem[] {
  const idx = list.findIndex((c) => c.id === item.id);
  if (idx === -1) return insertSorted(list, item);
  const rest = list.slice();
  rest.splice(idx, 1);
  return insertSorted(rest, keepReadMarks(list[idx], item));
}

/*
 * Paging. The UI holds a prefix of the backend's list (most recent activity first): the first
 * page, then further pages fetched with `offset` = the number held. `complete` says the whole list
 * is held (a page came back shorter than asked). While it is not, an item that sorts below the
 * last one held belongs to a page not loaded yet: it is left out (it comes with its page), so the
 * held list stays a prefix and the next offset stays right.
 */

/** A page merged into the held list, and whether the list is now complete. */
export type ListMerge = { items: ConversationItem[]; complete: boolean };

/**
 * What `conversation` / `conversationRemoved` events said while a page was being fetched: the
 * latest copy per id, or null when removed. Replayed over the page, so a page answered before
 * those events cannot undo them.
 */
export type ConversationJournal = Map<string, ConversationItem | null>;

/**
 * A `conversation` event applied to a possibly partial list: replaces the held copy and moves it
 * to its sorted place. An item not held (or one whose activity went back) is kept only if it
 * sorts above the last held item, or the list is complete; otherwise it is left to its page.
 */
export function upsertLoaded(
  list: readonly ConversationItem[],
  item: ConversationItem,
  complete: boolean,
): ConversationItem[] {
  if (complete) return upsertConversation(list, item);
  const idx = list.findIndex((c) => c.id === item.id);
  const old = idx === -1 ? undefined : list[idx];
  const next = keepReadMarks(old, item);
  let rest = list as ConversationItem[];
  if (idx !== -1) {
    rest = list.slice();
    rest.splice(idx, 1);
  }
  const last = rest[rest.length - 1];
  const stays =
    (old !== undefined && compareConversations(next, old) <= 0) || !last || compareConversations(next, last) < 0;
  return stays ? insertSorted(rest, next) : rest;
}

/** The fresher of a held copy and a fetched one (later activity; a tie goes to the fetched), read marks kept. */
function fresher(held: ConversationItem | undefined, got: ConversationItem): ConversationItem {
  if (!held) return got;
  const winner = held.lastActivity > got.lastActivity ? held : keepNewerLast(held, got);
  const peerReadSeq = Math.max(held.peerReadSeq, got.peerReadSeq);
  return winner.peerReadSeq === peerReadSeq ? winner : { ...winner, peerReadSeq };
}

/** Re-applies the events that arrived while a page was fetched (see `ConversationJournal`). */
function replay(list: ConversationItem[], journal: ConversationJournal | undefined, complete: boolean): ConversationItem[] {
  if (!journal) return list;
  for (const [id, item] of journal) {
    if (item === null) {
      list = removeConversation(list, id);
      continue;
    }
    const held = list.find((c) => c.id === id);
    if (held && held.lastActivity > item.lastActivity) continue; // the page is newer than the event
    list = upsertLoaded(list, item, complete);
  }
  return list;
}

/**
 * The first page (`offset` 0: at start-up and on `resync`) merged with the held list by id. Within
 * the page's range (down to its last item) the page decides which conversations exist; held items
 * below it are kept (they belong to later pages, loaded before). A page shorter than `limit` is the
 * whole list. For each conversation the copy with the later activity wins and read marks never go
 * back; events that arrived during the fetch (`journal`) are applied on top.
 */
export function mergeFirstPage(
  held: readonly ConversationItem[],
  page: readonly ConversationItem[],
  limit: number,
  journal?: ConversationJournal,
): ListMerge {
  const complete = page.length < limit;
  const fetched = sortConversations(page);
  const byId = new Map(held.map((c) => [c.id, c]));
  const inPage = new Set(fetched.map((c) => c.id));
  const boundary = fetched[fetched.length - 1];
  const items = fetched.map((got) => fresher(byId.get(got.id), got));
  if (!complete && boundary) {
    for (const c of held) if (!inPage.has(c.id) && compareConversations(c, boundary) > 0) items.push(c);
  }
  return { items: replay(sortConversations(items), journal, complete), complete };
}

/**
 * A further page (`offset` = the number held) merged in by id: no duplicates, the fresher copy
 * wins, read marks never go back, events from the time of the fetch (`journal`) applied on top.
 * A page shorter than `limit` means the list is now complete.
 */
export function mergePage(
  held: readonly ConversationItem[],
  page: readonly ConversationItem[],
  limit: number,
  journal?: ConversationJournal,
): ListMerge {
  const complete = page.length < limit;
  const index = new Map(held.map((c, i) => [c.id, i]));
  const items = held.slice();
  for (const got of page) {
    const i = index.get(got.id);
    if (i === undefined) {
      index.set(got.id, items.length);
      items.push(got);
    } else {
      items[i] = fresher(items[i], got);
    }
  }
  return { items: replay(sortConversations(items), journal, complete), complete };
}

/**
 * A read receipt: another member (`uid` ≠ me) read up to `readSeq`, which raises the
 * conversation's `peerReadSeq`. Own receipts (another device of mine) are left to the
 * `conversation` event the backend sends with them. Returns the same array when nothing changes.
 */
export function applyReceipt(
  list: readonly ConversationItem[],
  r: { conversationId: string; uid: string; readSeq: number },
  myUid: string | null | undefined,
): ConversationItem[] {
  if (r.uid === myUid) return list as ConversationItem[];
  const idx = list.findIndex((c) => c.id === r.conversationId);
  if (idx === -1 || list[idx].peerReadSeq >= r.readSeq) return list as ConversationItem[];
  const next = list.slice();
  next[idx] = { ...list[idx], peerReadSeq: r.readSeq };
  return next;
}

/**
 * Whether an own message shows the "read" double tick: only in 1:1 chats, once the other person
 * read up to its `seq`. (Groups keep the single "sent" tick.)
 */
export function isReadByPeer(c: Pick<ConversationItem, 'type' | 'peerReadSeq'>, m: UiMessage): boolean {
  return c.type === 'SINGLE_CHAT' && m.own && m.status === 'sent' && m.seq !== null && m.seq <= c.peerReadSeq;
}

/**
 * A conversation as it stands once this device has marked it read up to `seq`: the read mark
 * raised, and the unread count lowered to what lies above it (none once `seq` reaches `lastSeq`);
 * so are the unread mentions (there are no more of them than unread messages).
 * The same object when the mark is not ahead of the copy's.
 */
export function withReadMark(c: ConversationItem, seq: number): ConversationItem {
  if (seq <= c.readSeq) return c;
  const unreadCount = seq >= c.lastSeq ? 0 : Math.min(c.unreadCount, c.lastSeq - seq);
  const unreadMentions = Math.min(c.unreadMentions ?? 0, unreadCount);
  return { ...c, readSeq: seq, unreadCount, unreadMentions };
}

/** Whether the list shows "[@me]" before the preview: unread messages mention the user (muted or not). */
export function hasUnreadMention(c: Pick<ConversationItem, 'unreadMentions'>): boolean {
  return (c.unreadMentions ?? 0) > 0;
}

export function removeConversation(list: readonly ConversationItem[], id: string): ConversationItem[] {
  return list.filter((c) => c.id !== id);
}

/**
 * Applies a message event to the list item it belongs to, so the preview and order follow at
 * once (the backend's `conversation` event brings the authoritative unread count later).
 * Returns the same array when nothing changes.
 */
export function applyMessageToList(list: readonly ConversationItem[], msg: UiMessage): ConversationItem[] {
  const idx = list.findIndex((c) => c.id === msg.conversationId);
  if (idx === -1) return list as ConversationItem[];
  let c = list[idx];
  // A member's own message shows they read up to it (as the backend counts it).
  if (!msg.own && msg.seq !== null && msg.seq > c.peerReadSeq) {
    c = { ...c, peerReadSeq: msg.seq };
    const withMark = list.slice();
    withMark[idx] = c;
    list = withMark;
  }
  const last = c.lastMessage;
  const isUpdateOfLast = last !== null && last.clientId === msg.clientId;
  // (An older revision of the last message, e.g. a copy from before its recall: nothing changes.)
  if (isUpdateOfLast && pickVersion(last, msg) === last) return list as ConversationItem[];
  const isNewer =
    last === null ||
    (msg.seq !== null && last.seq !== null ? msg.seq > last.seq : msg.timestamp >= last.timestamp);
  if (!isUpdateOfLast && !isNewer) return list as ConversationItem[];
  const updated: ConversationItem = {
    ...c,
    lastMessage: msg,
    lastSeq: msg.seq !== null ? Math.max(c.lastSeq, msg.seq) : c.lastSeq,
    // A message without a usable time does not move the conversation (nor make its key NaN).
    lastActivity: isValidTime(msg.timestamp) ? Math.max(activityOf(c), msg.timestamp) : c.lastActivity,
  };
  return upsertConversation(list, updated);
}

/**
 * A message edited or recalled (a `messageUpdated` event, an edit / recall answer): the list
 * item whose last message it is shows it (unless it holds a later revision). Nothing moves: the
 * activity stays. Returns the same array when nothing changes.
 */
export function applyUpdateToList(list: readonly ConversationItem[], msg: UiMessage): ConversationItem[] {
  const idx = list.findIndex((c) => c.id === msg.conversationId);
  const last = idx === -1 ? null : list[idx].lastMessage;
  if (!last) return list as ConversationItem[];
  const same = last.clientId === msg.clientId || (msg.seq !== null && last.seq === msg.seq);
  if (!same || compareRevisions(msg, last) <= 0) return list as ConversationItem[];
  const next = list.slice();
  next[idx] = { ...list[idx], lastMessage: { ...msg, clientId: last.clientId } };
  return next;
}

/**
 * A message deleted on this device: if it was a list item's last message, the item shows
 * `previous` instead (the message before it, when known; else it stays until the backend's
 * `conversation` event). Nothing moves. Returns the same array when nothing changes.
 */
export function replaceDeletedLast(
  list: readonly ConversationItem[],
  conversationId: string,
  clientId: string,
  previous: UiMessage | null,
): ConversationItem[] {
  const idx = list.findIndex((c) => c.id === conversationId);
  if (idx === -1 || list[idx].lastMessage?.clientId !== clientId || !previous) return list as ConversationItem[];
  const next = list.slice();
  next[idx] = { ...list[idx], lastMessage: previous };
  return next;
}

/** One line: newlines and runs of spaces collapsed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * The line that stands for a recalled message (in the message view, and as a list preview): "You
 * recalled a message", "Tom recalled a message"; when a group's manager recalled someone else's:
 * "You recalled a message from Tom", "Spike recalled a message from Tom", "Spike recalled your
 * message". `myName`: the user's display name (a recall the user made as a manager is named so).
 */
export function recallText(m: Pick<UiMessage, 'own' | 'fromName' | 'recalledByName'>, t: Translate, myName?: string | null): string {
  const by = m.recalledByName ?? m.fromName;
  const bySender = m.recalledByName === null || m.recalledByName === m.fromName;
  if (m.own) return bySender ? t('recall.you') : t('recall.yours', { name: by });
  if (bySender) return t('recall.other', { name: by });
  if (myName && by === myName) return t('recall.youFrom', { sender: m.fromName });
  return t('recall.otherFrom', { name: by, sender: m.fromName });
}

/** The preview line of a list item ("You: …", "Jerry: …" in groups, or just the text). */
export function previewText(c: ConversationItem, t: Translate, myName?: string | null): string {
  const m = c.lastMessage;
  if (!m) return t('list.noMessages');
  if (m.recalled) return recallText(m, t, myName);
  const text = m.unsupported ? t('msg.unsupported') : oneLine(m.text);
  if (m.own) return t('list.you', { text });
  if (c.type === 'GROUP_CHAT' && m.fromName) return t('list.sender', { name: m.fromName, text });
  return text;
}

/**
 * What to show as a conversation's name, never empty. A 1:1 chat is named after the other person
 * (the `displayTitle` the backend derives from them, or `peer`), never after its stored `title`:
 * whoever created the chat could have titled it "Bank support" or after someone else.
 */
export function titleOf(c: ConversationItem): string {
  if (c.type === 'SINGLE_CHAT') return c.displayTitle || c.peer?.displayName || c.peer?.username || '…';
  return c.displayTitle || c.title || '…';
}

/** One or two letters for the avatar. */
export function initials(name: string): string {
  const words = name
    .trim()
    .split(/\s+/)
    .filter((w) => /^[\p{L}\p{N}]/u.test(w));
  if (words.length === 0) return '?';
  const first = [...words[0]][0] ?? '?';
  // CJK names: one character reads best.
  if (/[\u3400-\u9fff]/.test(first)) return first;
  const second = words.length > 1 ? ([...words[1]][0] ?? '') : '';
  return (first + second).toUpperCase();
}

/**
 * What a conversation's avatar colour derives from: for a 1:1 chat the other person's uid, so a
 * person has the same colour everywhere (their own avatar, their group messages, any dialog that
 * shows them); for a group the conversation.
 */
export function avatarSeed(c: Pick<ConversationItem, 'id' | 'type' | 'peer'>): string {
  return c.type === 'SINGLE_CHAT' && c.peer ? c.peer.uid : c.id;
}

/** A stable hue from a string (a uid, a group's id), for avatar colours. */
export function hueOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}
