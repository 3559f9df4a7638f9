// What a message search means, and how a hit is shown. Pure.
//
// The meaning is the backend's (`search_messages`, crates/im-sdk/src/cache/search.rs): the query
// is lower-cased and split at whitespace into terms (each once); a text matches when every term is
// a substring of its lower-cased form — anywhere: inside a word, inside Chinese written without
// spaces ("起床" and "床" both find "耗子，起床啦").
//
// A hit shows its text with every occurrence of every term marked (overlapping and touching
// occurrences merged into one mark), and a long text only around its first match, with ellipses.
// Marks and cuts never split a character: not a surrogate pair (an emoji), and where the platform
// can tell (Intl.Segmenter) not a user-perceived character either (a flag, a family emoji, a
// letter with a combining accent). The pieces are plain strings, for text nodes: nothing here is
// HTML, so a message's `<b>` or `&amp;` shows as typed.

/**
 * Whitespace as the backend splits at (Rust's `char::is_whitespace`, the Unicode White_Space
 * property): JavaScript's `\s` differs (it has U+FEFF, lacks U+0085).
 */
const WHITE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** A query's terms: lower-cased, split at whitespace, each once (in the order typed). */
export function searchTerms(query: string): string[] {
  const terms: string[] = [];
  for (const term of query.toLowerCase().split(WHITE_SPACE)) {
    if (term && !terms.includes(term)) terms.push(term);
  }
  return terms;
}

/** The query as the search sees it (its terms, one space apart): two queries with one key mean the same. */
export function searchKey(query: string): string {
  return searchTerms(query).join(' ');
}

/** Whether a text holds every term (none: no match), case-insensitively, anywhere. */
export function matchesAllTerms(text: string, terms: readonly string[]): boolean {
  if (terms.length === 0) return false;
  const folded = text.toLowerCase();
  return terms.every((t) => folded.includes(t));
}

/** A stretch of a text, in UTF-16 code units: `start` included, `end` not. */
export type Range = { start: number; end: number };

/**
 * The text lower-cased, with where each of its code units came from: lower-casing may change the
 * length (`İ` becomes `i̇`, two units), so positions found in the folded text are mapped back to
 * whole code points of the original.
 */
function fold(text: string): { folded: string; from: number[]; to: number[] } {
  let folded = '';
  const from: number[] = [];
  const to: number[] = [];
  let i = 0;
  for (const ch of text) {
    const lower = ch.toLowerCase();
    for (let k = 0; k < lower.length; k++) {
      from.push(i);
      to.push(i + ch.length);
    }
    folded += lower;
    i += ch.length;
  }
  return { folded, from, to };
}

/** What is used of Intl.Segmenter (ES2022; WebKitGTK has it, the TypeScript target's lib not). */
type GraphemeSegmenter = { segment(text: string): Iterable<{ index: number }> };
type SegmenterClass = new (locale: undefined, options: { granularity: 'grapheme' }) => GraphemeSegmenter;

let segmenter: GraphemeSegmenter | null | undefined;
function graphemes(): GraphemeSegmenter | null {
  if (segmenter === undefined) {
    const Segmenter = typeof Intl === 'undefined' ? undefined : (Intl as unknown as { Segmenter?: SegmenterClass }).Segmenter;
    segmenter = Segmenter ? new Segmenter(undefined, { granularity: 'grapheme' }) : null;
  }
  return segmenter;
}

/** For tests: use Intl.Segmenter (the default, where there is one) or not (code points only). */
export function useGraphemeSegmenter(use: boolean): void {
  segmenter = use ? undefined : null;
}

/** How far around a position the user-perceived character it may be inside is looked for. */
const CLUSTER_REACH = 32;

/**
 * The nearest boundary between user-perceived characters at or before (`dir` -1) or at or after
 * (+1) position `i`; without Intl.Segmenter, between code points.
 */
export function characterBoundary(text: string, i: number, dir: -1 | 1): number {
  if (i <= 0) return 0;
  if (i >= text.length) return text.length;
  // Fast path: two characters below U+0300 (no combining marks, surrogates or joiners) have a
  // boundary between them, but for CR LF.
  const prev = text.charCodeAt(i - 1);
  const next = text.charCodeAt(i);
  if (prev < 0x300 && next < 0x300 && !(prev === 13 && next === 10)) return i;
  const seg = graphemes();
  if (!seg) return codePointBoundary(text, i, dir);
  const from = Math.max(0, i - CLUSTER_REACH);
  const to = Math.min(text.length, i + CLUSTER_REACH);
  let before = from;
  let after = to;
  for (const { index } of seg.segment(text.slice(from, to))) {
    const at = from + index;
    if (at > i) {
      after = at;
      break;
    }
    before = at;
  }
  if (before === i) return i;
  // (The window may begin inside a character: its first boundary is then no boundary.)
  if (dir < 0) return before > from || from === 0 ? before : codePointBoundary(text, i, -1);
  return after;
}

function codePointBoundary(text: string, i: number, dir: -1 | 1): number {
  const low = text.charCodeAt(i);
  const high = text.charCodeAt(i - 1);
  const inside = low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff;
  return inside ? i + (dir < 0 ? -1 : 1) : i;
}

/**
 * Every occurrence of every term in `text` (case-insensitive; overlapping ones too), merged: the
 * ranges are sorted, and none overlaps or touches another. Each range starts and ends between
 * characters.
 */
export function matchRanges(text: string, terms: readonly string[]): Range[] {
  const found: Range[] = [];
  if (terms.length === 0 || !text) return found;
  const { folded, from, to } = fold(text);
  for (const term of terms) {
    if (!term) continue;
    for (let at = folded.indexOf(term); at !== -1; at = folded.indexOf(term, at + 1)) {
      const start = characterBoundary(text, from[at], -1);
      const end = characterBoundary(text, to[at + term.length - 1], 1);
      found.push({ start, end });
    }
  }
  found.sort((a, b) => a.start - b.start || a.end - b.end);
  const merged: Range[] = [];
  for (const r of found) {
    const last = merged[merged.length - 1];
    if (last && r.start <= last.end) last.end = Math.max(last.end, r.end);
    else merged.push({ ...r });
  }
  return merged;
}

/** A piece of a shown text: marked (a match) or not. Plain text, never HTML. */
export type Segment = { text: string; mark: boolean };

/** What a hit shows: its text (or the part around the first match), in pieces. */
export type Snippet = {
  segments: Segment[];
  /** Text was left out before / after the part shown (the view draws "…"). */
  cutBefore: boolean;
  cutAfter: boolean;
};

export type SnippetOptions = {
  /** A text longer than this (code units) is shown only in part, about this long. */
  maxLength?: number;
  /** How much text comes before the first match in a part (code units, about). */
  context?: number;
};

export const SNIPPET_MAX_LENGTH = 160;
export const SNIPPET_CONTEXT = 40;

/** Line breaks and tabs as spaces (one unit each, so positions stay): a hit is one flowing line. */
function flatten(text: string): string {
  return text.replace(/[\t\n\v\f\r\u0085\u2028\u2029]/g, ' ');
}

/**
 * The text of a hit with every term marked; a text longer than `maxLength` is cut to a part of
 * about that length beginning `context` before the first match (at a word's start when one is
 * near), or the end of the text when the match is near it.
 */
export function snippet(text: string, terms: readonly string[], options: SnippetOptions = {}): Snippet {
  const maxLength = options.maxLength ?? SNIPPET_MAX_LENGTH;
  const context = options.context ?? SNIPPET_CONTEXT;
  const flat = flatten(text);
  const ranges = matchRanges(flat, terms);
  let start = 0;
  let end = flat.length;
  if (flat.length > maxLength) {
    const first = ranges[0]?.start ?? 0;
    start = Math.max(0, Math.min(first - context, flat.length - maxLength));
    if (start > 0) {
      // Begin at a word when one begins shortly after the cut (and before the match).
      const space = flat.slice(start, Math.min(first, start + 16)).search(/\s\S/);
      if (space !== -1) start += space + 1;
      start = characterBoundary(flat, start, -1);
    }
    end = characterBoundary(flat, Math.min(flat.length, start + maxLength), 1);
  }
  const segments: Segment[] = [];
  const push = (from: number, to: number, mark: boolean) => {
    if (to > from) segments.push({ text: flat.slice(from, to), mark });
  };
  let at = start;
  for (const r of ranges) {
    if (r.end <= start) continue;
    if (r.start >= end) break;
    const s = Math.max(r.start, start);
    const e = Math.min(r.end, end);
    push(at, s, false);
    push(s, e, true);
    at = e;
  }
  push(at, end, false);
  // (Spaces at a cut are not worth showing before or after the ellipsis.)
  if (start > 0 && segments[0] && !segments[0].mark) segments[0] = { ...segments[0], text: segments[0].text.trimStart() };
  const last = segments[segments.length - 1];
  if (end < flat.length && last && !last.mark) segments[segments.length - 1] = { ...last, text: last.text.trimEnd() };
  return { segments: segments.filter((s) => s.text), cutBefore: start > 0, cutAfter: end < flat.length };
}
