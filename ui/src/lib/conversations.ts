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

/** Replaces (by id) or adds a conversation, keeping the list sorted. */
export function upsertConversation(list: readonly ConversationItem[], item: ConversationItem): ConversationItem[] {
  const rest = list.filter((c) => c.id !== item.id);
  rest.push(item);
  return rest.sort(compareConversations);
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
  const c = list[idx];
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
