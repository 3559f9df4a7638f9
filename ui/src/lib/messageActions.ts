// What can be done with a message (its actions menu: reply, copy, edit, recall, delete for me)
// at a given time, the message ↑ edits in an empty composer, the quote a reply shows, and when a
// recall still offers "Re-edit". The windows (`editableUntil`, `recallableUntil`) come from the
// backend, which checks them again: these only decide what the menu offers.
import type { ReplyPreview, UiMessage } from './api';
import { oneLine } from './conversations';

export type MessageAction = 'reply' | 'copy' | 'edit' | 'recall' | 'delete';

/** How long after recalling an own text the recall line offers "Re-edit" (ms). */
export const REEDIT_WINDOW_MS = 5 * 60_000;

/** Whether the user may edit the message now: an own, sent text, not recalled, within `editableUntil`. */
export function canEdit(m: UiMessage, now: number): boolean {
  return m.own && m.status === 'sent' && m.seq !== null && !m.recalled && m.editableUntil !== null && now < m.editableUntil;
}

/** Whether the user may recall the message now: sent, not recalled, within `recallableUntil`. */
export function canRecall(m: UiMessage, now: number): boolean {
  return m.status === 'sent' && m.seq !== null && !m.recalled && m.recallableUntil !== null && now < m.recallableUntil;
}

/**
 * The items of a message's actions menu, in their order. A sent message: Reply, Copy text (when
 * it has text), Edit and Recall (within their windows), Delete for me. One being sent: Copy only;
 * a failed one: Copy and Delete (it is discarded from the outbox). A recalled one: none.
 */
export function messageActions(m: UiMessage, now: number): MessageAction[] {
  if (m.recalled) return [];
  const copy: MessageAction[] = m.text ? ['copy'] : [];
  if (m.status === 'sending') return copy;
  if (m.status === 'failed' || m.seq === null) return [...copy, 'delete'];
  const actions: MessageAction[] = ['reply', ...copy];
  if (canEdit(m, now)) actions.push('edit');
  if (canRecall(m, now)) actions.push('recall');
  actions.push('delete');
  return actions;
}

/** The newest message the user may edit now (↑ in an empty composer), or null. */
export function lastEditable(messages: readonly UiMessage[], now: number): UiMessage | null {
  for (let i = messages.length - 1; i >= 0; i--) if (canEdit(messages[i], now)) return messages[i];
  return null;
}

/** What a quote shows: the name (null: not known) and one line of text, or that the original is recalled or not known. */
export type Quote =
  | { kind: 'text'; seq: number; name: string; text: string }
  | { kind: 'recalled'; seq: number; name: string | null }
  | { kind: 'unknown'; seq: number };

/**
 * The quote of a reply: the original as loaded here, when it is (so an edit or a recall since
 * shows), else the backend's preview (`fromName` / `text` null: not in this device's cache yet).
 */
export function quoteOf(replyTo: ReplyPreview, loaded?: UiMessage | null): Quote {
  const seq = replyTo.seq;
  if (loaded && loaded.seq === seq) {
    if (loaded.recalled) return { kind: 'recalled', seq, name: loaded.fromName };
    return { kind: 'text', seq, name: loaded.fromName, text: oneLine(loaded.text) };
  }
  if (replyTo.recalled) return { kind: 'recalled', seq, name: replyTo.fromName };
  if (replyTo.fromName === null || replyTo.text === null) return { kind: 'unknown', seq };
  return { kind: 'text', seq, name: replyTo.fromName, text: oneLine(replyTo.text) };
}

/** A message as the preview a reply to it starts with (what the composer's banner shows until sent). */
export function previewOf(m: UiMessage): ReplyPreview {
  return { seq: m.seq ?? 0, fromName: m.fromName, text: m.recalled ? null : m.text, recalled: m.recalled };
}

/** A text the user recalled on this device (the server drops it): what "Re-edit" puts back. */
export type RecalledText = { text: string; replyTo: ReplyPreview | null; at: number };

/** Whether a recall line still offers "Re-edit" (the text is kept, and recalled lately). */
export function canReEdit(kept: RecalledText | undefined, now: number): kept is RecalledText {
  return !!kept && kept.text.trim() !== '' && now - kept.at < REEDIT_WINDOW_MS;
}
