// The quick switcher (Ctrl+K): which loaded conversations match what was typed, best first, and
// whether to offer "Start a chat with @name" (a person found with `find_user`, asked once typing
// pauses; only the latest question's answer counts).
import type { ConversationItem, UserInfo } from './api';
import { titleOf } from './conversations';

/** At most this many conversations are listed (the best matches). */
export const SWITCHER_MAX_RESULTS = 50;
/** `find_user` is asked this long after the query last changed. */
export const SWITCHER_LOOKUP_DELAY_MS = 250;

/** How text is compared: NFKC (full-width letters as ASCII ones) and case-folded. */
export function foldForSearch(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/**
 * How well `field` matches the folded query `q`: 0 it starts with it, 1 one of its words does,
 * 2 it contains it elsewhere, null not at all.
 */
export function matchRank(field: string, q: string): 0 | 1 | 2 | null {
  if (!q) return 0;
  const f = foldForSearch(field);
  const at = f.indexOf(q);
  if (at === -1) return null;
  if (at === 0) return 0;
  // A word starting with it ("club" in "Cat & Mouse Club"): look at every occurrence.
  for (let i = at; i !== -1; i = f.indexOf(q, i + 1)) {
    if (/[\s\p{P}\p{S}]/u.test(f[i - 1])) return 1;
  }
  return 2;
}

/** What a conversation can be found by: its shown title, and for a 1:1 chat the person's name and username. */
function fieldsOf(c: ConversationItem): { names: string[]; usernames: string[] } {
  const names = [titleOf(c)];
  // A 1:1 chat's stored title never stands for who the person is (see api.ts): not searched.
  if (c.type === 'GROUP_CHAT' && c.title) names.push(c.title);
  if (c.peer?.displayName) names.push(c.peer.displayName);
  return { names, usernames: c.peer?.username ? [c.peer.username] : [] };
}

export type SwitcherMatch = { conversation: ConversationItem; rank: number };

/**
 * The conversations matching `query` (case-insensitive substrings of the title, the person's
 * name or `@username`; `@name` searches usernames only), best first: a prefix before a word
 * start before any other substring, then the most recent activity, then the list's order. An
 * empty query lists them all in the list's order. At most `limit`.
 */
export function matchConversations(
  items: readonly ConversationItem[],
  query: string,
  limit = SWITCHER_MAX_RESULTS,
): ConversationItem[] {
  const folded = foldForSearch(query.trim());
  const usernamesOnly = folded.startsWith('@');
  const q = usernamesOnly ? folded.slice(1) : folded;
  if (!q) return items.slice(0, limit);
  const matches: (SwitcherMatch & { index: number })[] = [];
  items.forEach((c, index) => {
    const { names, usernames } = fieldsOf(c);
    let best: number | null = null;
    for (const field of usernamesOnly ? usernames : [...names, ...usernames]) {
      const rank = matchRank(field, q);
      if (rank !== null && (best === null || rank < best)) best = rank;
    }
    if (best !== null) matches.push({ conversation: c, rank: best, index });
  });
  matches.sort((a, b) => a.rank - b.rank || b.conversation.lastActivity - a.conversation.lastActivity || a.index - b.index);
  return matches.slice(0, limit).map((m) => m.conversation);
}

/** Usernames are 3 to 32 of a–z, 0–9, `_ . -` (the server's rule). */
const USERNAME = /^[a-z0-9_.-]{3,32}$/;

/** The username the query could be (`@Jerry` → `jerry`), or null when it cannot be one. */
export function usernameQuery(query: string): string | null {
  const name = query.trim().replace(/^@/, '').toLowerCase();
  return USERNAME.test(name) ? name : null;
}

/** Whether a loaded 1:1 chat is with this person (by uid, or by username when no uid is known). */
export function hasChatWith(items: readonly ConversationItem[], who: { uid?: string; username?: string }): boolean {
  return items.some(
    (c) =>
      c.type === 'SINGLE_CHAT' &&
      !!c.peer &&
      ((who.uid !== undefined && c.peer.uid === who.uid) ||
        (who.username !== undefined && !!c.peer.username && c.peer.username.toLowerCase() === who.username)),
  );
}

/**
 * Whom to offer "Start a chat with" for `query`: the person `find_user` found for it (`found`,
 * the answer about `found.username`), unless the query is no longer that username, it is the
 * user, or a loaded 1:1 chat is with them already.
 */
export function personToOffer(
  items: readonly ConversationItem[],
  query: string,
  found: { username: string; user: UserInfo | null } | null,
  myUid: string | undefined,
): UserInfo | null {
  const name = usernameQuery(query);
  if (!name || !found || found.username !== name || !found.user) return null;
  if (found.user.uid === myUid) return null;
  if (hasChatWith(items, { uid: found.user.uid, username: name })) return null;
  return found.user;
}

/**
 * Asks a question once the input pauses (`delayMs` after the last `ask`), and hands over only the
 * answer to the latest question: an answer that comes after another question was asked (or after
 * `cancel`) is dropped.
 */
export class LatestLookup<K, T> {
  private asked = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly lookUp: (key: K) => Promise<T>,
    private readonly onAnswer: (key: K, answer: T) => void,
    private readonly onError: (key: K, error: unknown) => void = () => {},
    private readonly delayMs = SWITCHER_LOOKUP_DELAY_MS,
  ) {}

  /** Asks about `key` after the pause (replacing any question not answered yet). */
  ask(key: K): void {
    const mine = ++this.asked;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.lookUp(key).then(
        (answer) => mine === this.asked && this.onAnswer(key, answer),
        (error: unknown) => mine === this.asked && this.onError(key, error),
      );
    }, this.delayMs);
  }

  /** Drops the question on its way, if any. */
  cancel(): void {
    this.asked++;
    clearTimeout(this.timer);
  }
}
