// The conversation list: ordering, updates from events, and the preview line.
import type { ConversationItem, UiMessage } from './api';
import type { Translate } from './i18n';

/** Most recent activity first; ties broken by id so the order is stable. */
export function compareConversations(a: ConversationItem, b: ConversationItem): number {
  return b.lastActivity - a.lastActivity || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

export function sortConversations(list: readonly ConversationItem[]): ConversationItem[] {
  return [...list].sort(compareConversations);
}

/**
 * A fresh copy of a conversation replacing the one we hold. Read marks only grow, so a copy
 * that raced with a newer receipt does not take a read tick back.
 */
function keepReadMarks(old: ConversationItem | undefined, item: ConversationItem): ConversationItem {
  if (!old || old.peerReadSeq <= item.peerReadSeq) return item;
  return { ...item, peerReadSeq: old.peerReadSeq };
}

/** Replaces (by id) or adds a conversation, keeping the list sorted. */
export function upsertConversation(list: readonly ConversationItem[], item: ConversationItem): ConversationItem[] {
  const old = list.find((c) => c.id === item.id);
  const rest = list.filter((c) => c.id !== item.id);
  rest.push(keepReadMarks(old, item));
  return rest.sort(compareConversations);
}

/**
 * A freshly fetched list (`list_conversations`) merged with the one we hold: the fetched list
 * decides which conversations exist; for each, the copy with the later activity wins (events
 * may have arrived while the list was fetched), and read marks never go back.
 */
export function mergeFetchedList(
  held: readonly ConversationItem[],
  fetched: readonly ConversationItem[],
): ConversationItem[] {
  const byId = new Map(held.map((c) => [c.id, c]));
  return sortConversations(
    fetched.map((got) => {
      const mine = byId.get(got.id);
      if (!mine) return got;
      const fresher = mine.lastActivity > got.lastActivity ? mine : got;
      const peerReadSeq = Math.max(mine.peerReadSeq, got.peerReadSeq);
      return fresher.peerReadSeq === peerReadSeq ? fresher : { ...fresher, peerReadSeq };
    }),
  );
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
  const isNewer =
    last === null ||
    (msg.seq !== null && last.seq !== null ? msg.seq > last.seq : msg.timestamp >= last.timestamp);
  if (!isUpdateOfLast && !isNewer) return list as ConversationItem[];
  const updated: ConversationItem = {
    ...c,
    lastMessage: msg,
    lastSeq: msg.seq !== null ? Math.max(c.lastSeq, msg.seq) : c.lastSeq,
    lastActivity: Math.max(c.lastActivity, msg.timestamp),
  };
  return upsertConversation(list, updated);
}

/** One line: newlines and runs of spaces collapsed. */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/** The preview line of a list item ("You: …", "Jerry: …" in groups, or just the text). */
export function previewText(c: ConversationItem, t: Translate): string {
  const m = c.lastMessage;
  if (!m) return t('list.noMessages');
  const text = oneLine(m.text);
  if (m.own) return t('list.you', { text });
  if (c.type === 'GROUP_CHAT' && m.fromName) return t('list.sender', { name: m.fromName, text });
  return text;
}

/** What to show as a conversation's name, never empty. */
export function titleOf(c: ConversationItem): string {
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

/** A stable hue from a string, for avatar colours. */
export function hueOf(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}
