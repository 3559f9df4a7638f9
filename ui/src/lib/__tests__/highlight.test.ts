// What a message search means (the backend's meaning: every term, any case, anywhere) and how a
// hit is shown: every occurrence of every term marked (overlapping and touching ones merged),
// case-insensitive, Chinese without spaces, a character never split (emoji, combining accents),
// long texts cut around the first match, the text kept as text (never HTML).
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  characterBoundary,
  matchesAllTerms,
  matchRanges,
  searchKey,
  searchTerms,
  snippet,
  useGraphemeSegmenter,
  type Segment,
} from '../highlight';

afterEach(() => useGraphemeSegmenter(true));

const marked = (segments: Segment[]) => segments.filter((s) => s.mark).map((s) => s.text);
const joined = (segments: Segment[]) => segments.map((s) => s.text).join('');
const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;
/** No position splits a surrogate pair. */
const splitsNoPair = (text: string, at: number) => !(isHigh(text.charCodeAt(at - 1)) && isLow(text.charCodeAt(at)));

describe('the terms of a query', () => {
  it('are lower-cased, split at any whitespace (also the ideographic space of Chinese input), each once', () => {
    expect(searchTerms('  Tom  起床 tom\t')).toEqual(['tom', '起床']);
    expect(searchTerms('JERRY\u3000吃饭\n')).toEqual(['jerry', '吃饭']);
    expect(searchTerms(' \n\u3000 ')).toEqual([]);
    expect(searchTerms('')).toEqual([]);
    // As the backend (Rust's char::is_whitespace): U+0085 splits, U+FEFF (not whitespace there) does not.
    expect(searchTerms('a\u0085b')).toEqual(['a', 'b']);
    expect(searchTerms('a\ufeffb')).toEqual(['a\ufeffb']);
  });

  it('make the key that tells whether two queries mean the same', () => {
    expect(searchKey(' Jerry  吃饭 ')).toBe('jerry 吃饭');
    expect(searchKey('jerry 吃饭 JERRY')).toBe(searchKey('JERRY 吃饭'));
    expect(searchKey('   ')).toBe('');
  });

  it('match a text holding every one of them, anywhere, in any case (the backend’s examples)', () => {
    const text = '耗子，起床啦 Wake UP, Jerry';
    for (const hit of ['起床', '床', '起床啦', '耗子 jerry', 'wake', 'ake', 'up,', '起床 WAKE']) {
      expect(matchesAllTerms(text, searchTerms(hit)), hit).toBe(true);
    }
    for (const miss of ['起来', 'tom', '起床 tom', '', '  ']) {
      expect(matchesAllTerms(text, searchTerms(miss)), miss).toBe(false);
    }
    expect(matchesAllTerms('起来吃饭了 jerry', searchTerms('JERRY 吃饭'))).toBe(true);
  });
});

describe('the marks in a hit', () => {
  it('every occurrence of every term, case-insensitive', () => {
    const text = 'Tom and TOMMY met tom';
    expect(matchRanges(text, ['tom'])).toEqual([
      { start: 0, end: 3 },
      { start: 8, end: 11 },
      { start: 18, end: 21 },
    ]);
    expect(marked(snippet(text, searchTerms('TOM met')).segments)).toEqual(['Tom', 'TOM', 'met', 'tom']);
  });

  it('overlapping and touching occurrences are one mark', () => {
    expect(matchRanges('aaaa', ['aa'])).toEqual([{ start: 0, end: 4 }]);
    expect(matchRanges('xabcdx', ['abc', 'bcd'])).toEqual([{ start: 1, end: 5 }]);
    expect(matchRanges('foobar', ['foo', 'bar'])).toEqual([{ start: 0, end: 6 }]);
    expect(marked(snippet('foo bar', ['foo', 'bar']).segments)).toEqual(['foo', 'bar']);
  });

  it('Chinese without spaces: “起床” and “床” in “耗子，起床啦”', () => {
    expect(marked(snippet('耗子，起床啦', ['起床']).segments)).toEqual(['起床']);
    expect(marked(snippet('耗子，起床啦', ['床']).segments)).toEqual(['床']);
    const { segments } = snippet('起来吃饭了 jerry', searchTerms('JERRY 吃饭'));
    expect(segments).toEqual([
      { text: '起来', mark: false },
      { text: '吃饭', mark: true },
      { text: '了 ', mark: false },
      { text: 'jerry', mark: true },
    ]);
  });

  it('never splits an emoji (a surrogate pair), even for half of one typed', () => {
    expect(matchRanges('🧀cheese🧀', ['🧀'])).toEqual([
      { start: 0, end: 2 },
      { start: 8, end: 10 },
    ]);
    // The low half of 🧀 (U+1F9C0) alone: the whole emoji is marked.
    expect(matchRanges('a🧀b', ['\udfc0'])).toEqual([]);
    expect(matchRanges('a🧀b', ['\uddc0'])).toEqual([{ start: 1, end: 3 }]);
    useGraphemeSegmenter(false);
    expect(matchRanges('a🧀b', ['\uddc0'])).toEqual([{ start: 1, end: 3 }]);
  });

  it('never splits a user-perceived character: a combining accent, a family emoji, a flag', () => {
    expect(matchRanges('cafe\u0301!', ['e'])).toEqual([{ start: 3, end: 5 }]);
    const family = 'hi 👨‍👩‍👧 there';
    expect(matchRanges(family, ['👩'])).toEqual([{ start: 3, end: 3 + '👨‍👩‍👧'.length }]);
    expect(matchRanges('go 🇨🇳 now', ['🇳'])).toEqual([{ start: 3, end: 7 }]);
  });

  it('lower-casing that changes the length (İ → i̇) still marks the right characters', () => {
    expect(matchRanges('İSTANBUL', ['stanbul'])).toEqual([{ start: 1, end: 8 }]);
    expect(matchRanges('xİy', ['i'])).toEqual([{ start: 1, end: 2 }]);
  });

  it('keeps the text as text: HTML-special characters are plain characters of the pieces', () => {
    const { segments } = snippet('<img src=x onerror=alert(1)> & <b>bold</b>', ['<b>', '&']);
    expect(joined(segments)).toBe('<img src=x onerror=alert(1)> & <b>bold</b>');
    expect(marked(segments)).toEqual(['&', '<b>']);
  });
});

describe('the snippet of a long text', () => {
  const long = `${'Lorem ipsum dolor sit amet. '.repeat(20)}The cheese is in the fridge, behind the milk. ${'Consectetur adipiscing elit. '.repeat(20)}`;

  it('a short text is shown whole, on one line', () => {
    const s = snippet('Count me in.\nSecond line.', ['line']);
    expect(s.cutBefore).toBe(false);
    expect(s.cutAfter).toBe(false);
    expect(joined(s.segments)).toBe('Count me in. Second line.');
  });

  it('a long one around its first match, with ellipses both sides, beginning at a word', () => {
    const s = snippet(long, ['cheese'], { maxLength: 80, context: 20 });
    expect(s.cutBefore).toBe(true);
    expect(s.cutAfter).toBe(true);
    const text = joined(s.segments);
    expect(text.length).toBeLessThanOrEqual(80);
    expect(long).toContain(text);
    expect(marked(s.segments)).toEqual(['cheese']);
    expect(text.indexOf('cheese')).toBeLessThanOrEqual(20);
    expect(text).toMatch(/^\S/);
    const at = long.indexOf(text);
    expect(/\s/.test(long[at - 1])).toBe(true); // it begins at a word
  });

  it('a match near the start: no ellipsis before; near the end: the end of the text', () => {
    const start = snippet(`cheese ${long}`, ['cheese'], { maxLength: 80 });
    expect(start.cutBefore).toBe(false);
    expect(start.cutAfter).toBe(true);
    const end = snippet(`${long} brie`, ['brie'], { maxLength: 80 });
    expect(end.cutBefore).toBe(true);
    expect(end.cutAfter).toBe(false);
    expect(joined(end.segments).endsWith('brie')).toBe(true);
    expect(joined(end.segments).length).toBeGreaterThan(60); // a full part, not just the end
  });

  it('no match at all (it cannot be, but): the start of the text', () => {
    const s = snippet(long, ['nothing'], { maxLength: 50 });
    expect(s.cutBefore).toBe(false);
    expect(s.cutAfter).toBe(true);
    expect(long.startsWith(joined(s.segments))).toBe(true);
  });

  it('cuts between characters: not inside an emoji or a family emoji', () => {
    const emoji = '🧀'.repeat(100);
    for (const maxLength of [9, 10, 11, 12]) {
      const s = snippet(`${emoji}x${emoji}`, ['x'], { maxLength, context: 3 });
      const text = joined(s.segments);
      expect(text.length % 2, `maxLength ${maxLength}`).toBe(1); // whole emoji and the x
      expect(marked(s.segments)).toEqual(['x']);
    }
    const family = '👨‍👩‍👧'.repeat(20);
    const s = snippet(`${family}x${family}`, ['x'], { maxLength: 30, context: 9 });
    const text = joined(s.segments);
    const [before, after] = text.split('x');
    expect(before.length % '👨‍👩‍👧'.length).toBe(0);
    expect(after.length % '👨‍👩‍👧'.length).toBe(0);
  });
});

describe('properties', () => {
  // Characters whose lower case is as long as they are, so that positions can be compared.
  const unit = fc.constantFrom('a', 'A', 'b', 'B', 'ab', ' ', '\n', '<', '&', '起', '床', '啦', '🧀', '😀', 'é', 'e\u0301');
  const text = fc.string({ unit, maxLength: 40 });
  const termOf = (t: string) =>
    fc.tuple(fc.nat(t.length), fc.integer({ min: 1, max: 4 })).map(([at, n]) => t.slice(at, at + n).toLowerCase() || 'a');
  const input = text.chain((t) =>
    fc.record({
      text: fc.constant(t),
      terms: fc.array(fc.oneof(termOf(t), fc.constantFrom('a', 'ab', '床', '🧀', 'zz')), { minLength: 1, maxLength: 3 }),
      segmenter: fc.boolean(),
    }),
  );

  it('a short text: the pieces are the text; marks alternate with the rest; no piece splits a pair', () => {
    fc.assert(
      fc.property(input, ({ text, terms, segmenter }) => {
        useGraphemeSegmenter(segmenter);
        const flat = text.replace(/\n/g, ' ');
        const { segments, cutBefore, cutAfter } = snippet(text, terms, { maxLength: 1000 });
        expect(cutBefore || cutAfter).toBe(false);
        expect(joined(segments)).toBe(flat);
        let at = 0;
        for (const [i, s] of segments.entries()) {
          expect(s.text.length).toBeGreaterThan(0);
          if (i > 0) expect(s.mark, 'marks are merged').not.toBe(segments[i - 1].mark);
          expect(splitsNoPair(flat, at)).toBe(true);
          at += s.text.length;
        }
      }),
    );
  });

  it('every occurrence of every term is marked, and (code points only) nothing else is', () => {
    fc.assert(
      fc.property(input, ({ text, terms, segmenter }) => {
        useGraphemeSegmenter(segmenter);
        const ranges = matchRanges(text, terms);
        const inMark = (i: number) => ranges.some((r) => r.start <= i && i < r.end);
        const folded = text.toLowerCase();
        const covered = new Set<number>();
        for (const term of terms) {
          for (let at = folded.indexOf(term); at !== -1; at = folded.indexOf(term, at + 1)) {
            for (let i = at; i < at + term.length; i++) {
              expect(inMark(i), `${JSON.stringify(term)} at ${at}`).toBe(true);
              covered.add(i);
            }
          }
        }
        for (const r of ranges) {
          expect(splitsNoPair(text, r.start) && splitsNoPair(text, r.end)).toBe(true);
          for (let i = r.start; i < r.end; i++) {
            // A mark is an occurrence, widened only to whole characters.
            const near = [...covered].some((c) => Math.abs(c - i) <= (segmenter ? 2 : 1));
            expect(near, `${i} in a mark`).toBe(true);
            if (!segmenter && !isLow(text.charCodeAt(i)) && !isHigh(text.charCodeAt(i))) expect(covered.has(i)).toBe(true);
          }
        }
      }),
    );
  });

  it('a cut text: a piece of the text, holding the start of its first match, never splitting a pair', () => {
    const long = fc.string({ unit, minLength: 30, maxLength: 200 });
    fc.assert(
      fc.property(long, fc.integer({ min: 8, max: 40 }), fc.nat(60), (t, maxLength, pick) => {
        const flat = t.replace(/\n/g, ' ');
        const term = t.slice(pick % t.length, (pick % t.length) + 2).toLowerCase();
        if (!term.trim()) return;
        const s = snippet(t, [term], { maxLength, context: 5 });
        const shown = joined(s.segments);
        expect(flat).toContain(shown);
        if (s.cutBefore || s.cutAfter) expect(shown.length).toBeLessThanOrEqual(maxLength + 12);
        const first = matchRanges(flat, [term])[0];
        if (first) expect(s.segments.some((x) => x.mark)).toBe(true);
        for (const cut of [flat.indexOf(shown), flat.indexOf(shown) + shown.length]) expect(splitsNoPair(flat, cut)).toBe(true);
      }),
    );
  });

  it('characterBoundary is a boundary, before or after', () => {
    const s = 'a🧀e\u0301👨‍👩‍👧b';
    for (let i = 0; i <= s.length; i++) {
      const before = characterBoundary(s, i, -1);
      const after = characterBoundary(s, i, 1);
      expect(before).toBeLessThanOrEqual(i);
      expect(after).toBeGreaterThanOrEqual(i);
      expect(splitsNoPair(s, before) && splitsNoPair(s, after)).toBe(true);
    }
    expect(characterBoundary(s, 4, -1)).toBe(3); // inside é (e + accent): before the e
    expect(characterBoundary(s, 4, 1)).toBe(5);
  });
});
