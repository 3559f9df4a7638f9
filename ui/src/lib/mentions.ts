// @mentions in groups: when the composer's text calls for the member picker (an `@` at the start
// or after a space, up to the caret), which members it offers for what follows the `@` (display
// name or username, any case, Chinese too; the group's manager also gets @all at the top), what
// choosing one does to the text, which of the mentions chosen are still in the text when it is
// sent, and where a message's text names the people it mentions (highlighted in its bubble).
import type { MemberInfo, UiMessage } from './api';

/** How many characters after the `@` the picker still follows (a longer run is no name being typed). */
export const MENTION_QUERY_MAX = 32;

/**
 * The words "@all" is written with in a message (the English and the Chinese composers insert
 * their own): highlighted in any language, whoever wrote them.
 */
export const ALL_TOKENS = ['all', '所有人'] as const;

/** What more the picker matches "@all" by (besides `ALL_TOKENS` and the UI's own word). */
const ALL_ALIASES = ['everyone', 'everybody', 'qsr', 'suoyouren'];

/** An `@` being typed: where it is (`start`), up to the caret (`end`), and what follows it. */
export type MentionTrigger = { start: number; end: number; query: string };

/** A choice of the picker: everyone (@all), or one member. */
export type MentionOption = { kind: 'all' } | { kind: 'member'; member: MemberInfo };

/** A mention chosen in the picker (uid null: @all) and the name it put in the text (without the `@`). */
export type MentionPick = { uid: string | null; name: string };

/** What goes with a message sent: the uids it mentions, and whether it mentions everyone. */
export type MentionsToSend = { mentions: string[]; mentionAll: boolean };

const isSpace = (ch: string) => /\s/u.test(ch);
const isWordChar = (ch: string) => /[\p{L}\p{N}_]/u.test(ch);
/** Scripts written without spaces between words: a name there may be followed by more text at once. */
const isUnspaced = (ch: string) => /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(ch);

/** How a name or a query is compared: compatibility forms folded (full-width letters), any case. */
export function foldName(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

/**
 * The `@` the caret is after, with what was typed since, when it calls for the picker: the `@`
 * starts the text or follows white space, and no white space (nor more than MENTION_QUERY_MAX
 * characters) came after it. Null otherwise (an e-mail address, an `@` followed by a space…).
 */
export function mentionTrigger(text: string, caret: number): MentionTrigger | null {
  const end = Math.max(0, Math.min(caret, text.length));
  for (let i = end - 1; i >= 0 && end - i <= MENTION_QUERY_MAX + 1; i--) {
    const ch = text[i];
    if (isSpace(ch)) return null;
    if (ch !== '@') continue;
    if (i > 0 && !isSpace(text[i - 1])) return null;
    return { start: i, end, query: text.slice(i + 1, end) };
  }
  return null;
}

/** The name a mention of this member writes into the text (without the `@`). */
export function mentionName(m: Pick<MemberInfo, 'uid' | 'username' | 'displayName'>): string {
  return m.displayName.trim() || m.username || m.uid;
}

/** How well a member matches a query: 0 at the start of a name (or a word of it), 1 inside one, -1 not at all. */
function matchRank(m: MemberInfo, q: string): number {
  if (q === '') return 0;
  const name = foldName(m.displayName);
  const compact = name.replace(/\s+/gu, '');
  const username = foldName(m.username);
  const words = name.split(/\s+/u);
  if (name.startsWith(q) || compact.startsWith(q) || username.startsWith(q) || words.some((w) => w.startsWith(q))) return 0;
  if (name.includes(q) || compact.includes(q) || username.includes(q)) return 1;
  return -1;
}

/**
 * What the picker offers for a query: @all first (only when `canAll`: the user manages the group,
 * and the query is the start of one of its names, `allNames` being the UI's own), then the other
 * members (never the user) whose display name or username has the query, those where it starts
 * one first, else in the group's order.
 */
export function mentionOptions(
  members: readonly MemberInfo[],
  query: string,
  opts: { canAll: boolean; allNames?: readonly string[] },
): MentionOption[] {
  const q = foldName(query.trim());
  const options: MentionOption[] = [];
  if (opts.canAll) {
    const names = [...ALL_TOKENS, ...ALL_ALIASES, ...(opts.allNames ?? [])].map(foldName);
    if (q === '' || names.some((n) => n.startsWith(q))) options.push({ kind: 'all' });
  }
  const ranked = members
    .filter((m) => !m.me)
    .map((member, i) => ({ member, i, rank: matchRank(member, q) }))
    .filter((x) => x.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.i - b.i);
  for (const x of ranked) options.push({ kind: 'member', member: x.member });
  return options;
}

/** Whether the user may mention everyone here: a group they manage. */
export function canMentionAll(type: 'SINGLE_CHAT' | 'GROUP_CHAT', members: readonly MemberInfo[]): boolean {
  return type === 'GROUP_CHAT' && members.some((m) => m.me && m.manager);
}

/**
 * The text once a mention is chosen: the `@` and what was typed after it replaced by `@name ` (a
 * space after it, unless one follows already), and where the caret goes (after that space).
 */
export function insertMention(text: string, trigger: Pick<MentionTrigger, 'start' | 'end'>, name: string): { text: string; caret: number } {
  const before = text.slice(0, trigger.start);
  const after = text.slice(trigger.end);
  const spaced = after.length > 0 && isSpace(after[0]);
  const inserted = `@${name}${spaced ? '' : ' '}`;
  return { text: before + inserted + after, caret: before.length + inserted.length + (spaced ? 1 : 0) };
}

/**
 * Whether `@name` stands in the text at `at` as a mention: not inside a word before it (an e-mail
 * address), and not running on into one after it (`@Tom` is not in `@Tommy`), except after a name
 * in a script written without spaces (`@张三你好`).
 */
function standsAt(text: string, at: number, name: string): boolean {
  if (at > 0 && isWordChar(text[at - 1])) return false;
  const next = text[at + 1 + name.length];
  if (next === undefined || !isWordChar(next)) return true;
  return isUnspaced(name[name.length - 1] ?? '');
}

/** Whether the text has `@name` as a mention (see `standsAt`). */
export function hasMention(text: string, name: string): boolean {
  if (!name) return false;
  const token = `@${name}`;
  for (let at = text.indexOf(token); at !== -1; at = text.indexOf(token, at + 1)) if (standsAt(text, at, name)) return true;
  return false;
}

/**
 * What is sent with the text: the mentions chosen whose `@name` is still in it (each uid once),
 * and @all when it was chosen and is still there. Deleting or changing a name in the text drops
 * its mention.
 */
export function mentionsToSend(text: string, picks: readonly MentionPick[]): MentionsToSend {
  const mentions: string[] = [];
  let mentionAll = false;
  for (const p of picks) {
    if (!hasMention(text, p.name)) continue;
    if (p.uid === null) mentionAll = true;
    else if (!mentions.includes(p.uid)) mentions.push(p.uid);
  }
  return { mentions, mentionAll };
}

/** The picks still worth keeping for a text (their names are still in it): the same array when all are. */
export function keptPicks(text: string, picks: readonly MentionPick[]): MentionPick[] {
  const kept = picks.filter((p) => hasMention(text, p.name));
  return kept.length === picks.length ? (picks as MentionPick[]) : kept;
}

/** A piece of a message's text: plain, or a mention (`@name`) to highlight. */
export type TextSegment = { text: string; mention: boolean };

/**
 * A text cut where it mentions someone: each `@name` of `names` (the longest that fits) as a
 * mention segment, the rest as plain ones. One plain segment when there is nothing to highlight.
 */
export function mentionSegments(text: string, names: readonly string[]): TextSegment[] {
  const wanted = [...new Set(names.filter((n) => n.length > 0))].sort((a, b) => b.length - a.length);
  if (wanted.length === 0 || !text.includes('@')) return [{ text, mention: false }];
  const segments: TextSegment[] = [];
  let plainFrom = 0;
  for (let at = text.indexOf('@'); at !== -1; ) {
    const name = wanted.find((n) => text.startsWith(n, at + 1) && standsAt(text, at, n));
    if (!name) {
      at = text.indexOf('@', at + 1);
      continue;
    }
    if (at > plainFrom) segments.push({ text: text.slice(plainFrom, at), mention: false });
    const end = at + 1 + name.length;
    segments.push({ text: text.slice(at, end), mention: true });
    plainFrom = end;
    at = text.indexOf('@', end);
  }
  if (plainFrom < text.length || segments.length === 0) segments.push({ text: text.slice(plainFrom), mention: false });
  return segments;
}

/**
 * The names a message's mentions are written with: each mentioned member's name (`nameOf`; one
 * not known is left out), and the words of @all when it mentions everyone.
 */
export function mentionedNames(m: Pick<UiMessage, 'mentions' | 'mentionAll'>, nameOf: (uid: string) => string | null | undefined): string[] {
  const names: string[] = [];
  for (const uid of m.mentions ?? []) {
    const name = nameOf(uid);
    if (name) names.push(name);
  }
  if (m.mentionAll) names.push(...ALL_TOKENS);
  return names;
}
