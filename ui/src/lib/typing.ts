// Who is typing where. A typing event holds for 6 s unless renewed or cancelled.
import type { Translate } from './i18n';

export const TYPING_TTL_MS = 6000;

type Entry = { name: string; until: number };

export class TypingTracker {
  private byConv = new Map<string, Map<string, Entry>>();

  constructor(private readonly ttlMs = TYPING_TTL_MS) {}

  apply(e: { conversationId: string; uid: string; name: string; typing: boolean }, now: number): void {
    let users = this.byConv.get(e.conversationId);
    if (e.typing) {
      if (!users) this.byConv.set(e.conversationId, (users = new Map()));
      users.set(e.uid, { name: e.name, until: now + this.ttlMs });
    } else if (users) {
      users.delete(e.uid);
      if (users.size === 0) this.byConv.delete(e.conversationId);
    }
  }

  /** A message from someone ends their typing. */
  stopped(conversationId: string, uid: string): void {
    this.apply({ conversationId, uid, name: '', typing: false }, 0);
  }

  /** Names of the people typing in a conversation now (expired entries dropped). */
  names(conversationId: string, now: number): string[] {
    const users = this.byConv.get(conversationId);
    if (!users) return [];
    const out: string[] = [];
    for (const [uid, entry] of users) {
      if (entry.until <= now) users.delete(uid);
      else out.push(entry.name || uid);
    }
    if (users.size === 0) this.byConv.delete(conversationId);
    return out;
  }

  /** The earliest time a live entry expires, to schedule the next refresh (null if none). */
  nextExpiry(now: number): number | null {
    let next: number | null = null;
    for (const [conv, users] of this.byConv) {
      for (const [uid, e] of users) {
        if (e.until <= now) users.delete(uid);
        else if (next === null || e.until < next) next = e.until;
      }
      if (users.size === 0) this.byConv.delete(conv);
    }
    return next;
  }

  clear(): void {
    this.byConv.clear();
  }
}

export function typingText(names: readonly string[], t: Translate): string {
  if (names.length === 0) return '';
  if (names.length === 1) return t('typing.one', { name: names[0] });
  if (names.length === 2) return t('typing.two', { a: names[0], b: names[1] });
  return t('typing.many', { n: names.length });
}
