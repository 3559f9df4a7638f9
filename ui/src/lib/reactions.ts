// Emoji reactions on a message: the quick ones the actions menu offers, which messages take them,
// what a toggle by the user does to a message's reactions (the optimistic copy shown until the
// backend's answer or `messageUpdated` event, which are authoritative), and how a reaction is
// described (its tooltip and label: who reacted).
import type { Reaction, UiMessage } from './api';
import type { Translate } from './i18n';

/** The quick reactions of the actions menu, in their order (as in Telegram and WeChat). */
export const QUICK_REACTIONS = ['👍', '❤️', '😂', '😮', '😢', '🙏', '🎉', '👌'] as const;

/** How many names a reaction's tooltip lists before "and N more". */
export const REACTION_NAMES_SHOWN = 10;

/** Whether a message takes reactions: sent (acked) and not recalled. */
export function canReact(m: Pick<UiMessage, 'status' | 'seq' | 'recalled'>): boolean {
  return m.status === 'sent' && m.seq !== null && !m.recalled;
}

/** The reactions a message shows: none for a recalled one (whatever a copy says). */
export function shownReactions(m: Pick<UiMessage, 'recalled' | 'reactions'>): Reaction[] {
  return m.recalled ? [] : (m.reactions ?? []);
}

/** Whether the user has reacted to the message with this emoji. */
export function isMine(reactions: readonly Reaction[], emoji: string): boolean {
  return reactions.some((r) => r.emoji === emoji && r.mine);
}

/**
 * The reactions once the user's reaction with `emoji` is on (or off), as the backend would make
 * them: idempotent (already so: the same array back). On: the count grows and the user's name is
 * added (a new emoji goes last); off: the count drops, one of the user's name goes, and an emoji
 * nobody has any more goes from the list.
 */
export function setMine(reactions: readonly Reaction[], emoji: string, on: boolean, myName: string): Reaction[] {
  const idx = reactions.findIndex((r) => r.emoji === emoji);
  const held = idx === -1 ? null : reactions[idx];
  if ((held?.mine ?? false) === on) return reactions as Reaction[];
  const next = reactions.slice();
  if (on) {
    const r: Reaction = held
      ? { ...held, count: held.count + 1, mine: true, names: [...held.names, myName] }
      : { emoji, count: 1, mine: true, names: [myName] };
    if (idx === -1) next.push(r);
    else next[idx] = r;
    return next;
  }
  const r = held!;
  if (r.count <= 1) {
    next.splice(idx, 1);
    return next;
  }
  const at = r.names.lastIndexOf(myName);
  const names = at === -1 ? r.names : [...r.names.slice(0, at), ...r.names.slice(at + 1)];
  next[idx] = { ...r, count: r.count - 1, mine: false, names };
  return next;
}

/** A message with the user's reaction with `emoji` toggled (on when they have none): the copy shown at once. */
export function toggledCopy(m: UiMessage, emoji: string, myName: string): { message: UiMessage; on: boolean } {
  const on = !isMine(m.reactions ?? [], emoji);
  return { message: { ...m, reactions: setMine(m.reactions ?? [], emoji, on, myName) }, on };
}

/** Who reacted, for a tooltip: "Tom, Jerry and 3 more" (at most REACTION_NAMES_SHOWN names). */
export function reactionNames(r: Reaction, t: Translate): string {
  const shown = r.names.slice(0, REACTION_NAMES_SHOWN);
  const names = shown.join(t('reaction.separator'));
  const more = Math.max(0, r.count - shown.length);
  if (more === 0 || shown.length === 0) return names || String(r.count);
  return t('reaction.more', { names, n: more });
}

/** A reaction's label (its button's name and tooltip): "👍 3: Tom, Jerry, Spike". */
export function reactionLabel(r: Reaction, t: Translate): string {
  return t('reaction.label', { emoji: r.emoji, count: r.count, names: reactionNames(r, t) });
}

/** What is used of Intl.Segmenter (ES2022; WebKitGTK has it, the TypeScript target's lib not). */
type SegmenterClass = new (locale: undefined, options: { granularity: 'grapheme' }) => { segment(text: string): Iterable<unknown> };
const Segmenter = typeof Intl === 'undefined' ? undefined : (Intl as unknown as { Segmenter?: SegmenterClass }).Segmenter;
const segmenter = Segmenter ? new Segmenter(undefined, { granularity: 'grapheme' }) : null;

/**
 * Whether a string is a single emoji (one grapheme that is a pictograph, a flag or a keycap): what
 * `react` takes (the mock checks it like the backend; the UI only offers such).
 */
export function isSingleEmoji(s: string): boolean {
  if (!s || s.length > 32) return false;
  const graphemes = segmenter ? [...segmenter.segment(s)].length : [...s].length;
  if (graphemes !== 1) return false;
  return /\p{Extended_Pictographic}|\p{Regional_Indicator}{2}|[0-9#*]\uFE0F?\u20E3/u.test(s);
}
