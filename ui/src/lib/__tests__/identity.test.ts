import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { handle, similarNames, skeleton } from '../identity';

// Invisible characters an impostor can slip into a name.
const INVISIBLES = [
  '\u200b', // zero width space
  '\u200c', // zero width non-joiner
  '\u200d', // zero width joiner
  '\u200e', // left-to-right mark
  '\u200f', // right-to-left mark
  '\u202a', // left-to-right embedding
  '\u202e', // right-to-left override
  '\u2060', // word joiner
  '\u2066', // left-to-right isolate
  '\u2069', // pop directional isolate
  '\ufeff', // zero width no-break space
  '\u00ad', // soft hyphen
  '\u034f', // combining grapheme joiner
  '\u180e', // Mongolian vowel separator
  '\u3164', // Hangul filler
  '\ufe0f', // variation selector 16
  '\u{e0041}', // tag latin capital letter a
];

/** Any text: all of Unicode, graphemes of several code points, and plain names. */
const names = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.string({ unit: fc.constantFrom(...'TomJerryİıßſΣσςΝνКкаеоIl1|0rnvvé'), maxLength: 12 }),
);

/** `s` with invisible characters inserted at random places (between any two code points). */
const withInvisibles = names.chain((s) => {
  const points = [...s];
  return fc
    .array(fc.tuple(fc.nat(points.length), fc.constantFrom(...INVISIBLES)), { maxLength: 6 })
    .map((inserts) => {
      const out = points.slice();
      for (const [at, ch] of inserts.sort((a, b) => b[0] - a[0])) out.splice(Math.min(at, out.length), 0, ch);
      return { plain: s, noisy: out.join('') };
    });
});

describe('skeleton', () => {
  it('makes look-alike names equal', () => {
    const jerry = skeleton('Jerry');
    for (const fake of [
      'jerry',
      'JERRY',
      'Jеrry', // Cyrillic е
      'Jerrу', // Cyrillic у
      'J\u200berry', // zero width space
      'Jerry\u200f', // right-to-left mark
      'Ｊｅｒｒｙ', // fullwidth
      '𝐉𝐞𝐫𝐫𝐲', // mathematical bold
      'Jérry', // decoration
      'Jerry.',
      ' Jerry ',
    ]) {
      expect(skeleton(fake), fake).toBe(jerry);
    }
    expect(skeleton('Tom')).toBe(skeleton('T0m'));
    expect(skeleton('Bill')).toBe(skeleton('BiII')); // capital i for l
    expect(skeleton('Bill')).toBe(skeleton('Bi11'));
    expect(skeleton('Emma')).toBe(skeleton('Ernrna')); // rn for m
    expect(skeleton('Owen')).toBe(skeleton('Ovven')); // vv for w
    expect(skeleton('Nick')).toBe(skeleton('Νick')); // Greek capital nu
    expect(skeleton('PAYPAL')).toBe(skeleton('РАYРАL')); // Cyrillic capitals
    expect(skeleton('Straße')).toBe(skeleton('STRASSE'));
  });

  it('keeps different names apart', () => {
    expect(skeleton('Tom')).not.toBe(skeleton('Tim'));
    expect(skeleton('Jerry')).not.toBe(skeleton('Jenny'));
    expect(skeleton('张三')).not.toBe(skeleton('张四'));
    expect(skeleton('张三')).toBe(skeleton('张三\u200d'));
  });

  it('is empty for names with nothing visible in them', () => {
    expect(skeleton('\u200b\u200d\u3164 ')).toBe('');
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(names, (s) => {
        const once = skeleton(s);
        expect(skeleton(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });

  it('does not depend on case', () => {
    fc.assert(
      fc.property(names, (s) => {
        const k = skeleton(s);
        expect(skeleton(s.toUpperCase())).toBe(k);
        expect(skeleton(s.toLowerCase())).toBe(k);
      }),
      { numRuns: 2000 },
    );
  });

  it('does not see inserted zero-width and other invisible characters', () => {
    fc.assert(
      fc.property(withInvisibles, ({ plain, noisy }) => {
        expect(skeleton(noisy)).toBe(skeleton(plain));
      }),
      { numRuns: 2000 },
    );
  });
});

describe('similarNames', () => {
  const jerry = { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' };
  const fake = { uid: 'u-fake', username: 'jerry_official', displayName: 'Jеrry' }; // Cyrillic е
  const tom = { uid: 'u-tom', username: 'tom', displayName: 'Tom' };

  it('flags different people whose names look alike, each with the others', () => {
    const similar = similarNames([jerry, tom, fake]);
    expect([...similar.keys()].sort()).toEqual(['u-fake', 'u-jerry']);
    expect(similar.get('u-jerry')).toEqual([fake]);
    expect(similar.get('u-fake')).toEqual([jerry]);
  });

  it('does not flag one person seen several times, or names that differ', () => {
    expect(similarNames([jerry, { ...jerry }, tom, { uid: 'u-tim', username: 'tim', displayName: 'Tim' }]).size).toBe(0);
    // Known only by uid in one place (a group sender), with a username in another: the same person.
    expect(similarNames([{ ...jerry, username: '' }, jerry]).size).toBe(0);
  });

  it('flags a sender whose username is not known yet', () => {
    const sender = { uid: 'u-x', username: '', displayName: 'JERRY' };
    expect(similarNames([jerry, sender]).get('u-jerry')).toEqual([sender]);
  });

  it('ignores names with nothing visible', () => {
    expect(similarNames([{ uid: 'a', username: 'a', displayName: '\u200b' }, { uid: 'b', username: 'b', displayName: '\u200d' }]).size).toBe(0);
  });

  it('is symmetric and never pairs a person with themselves', () => {
    const person = fc.record({
      uid: fc.constantFrom('u1', 'u2', 'u3', 'u4', 'u5'),
      username: fc.constantFrom('', 'a', 'b', 'c'),
      displayName: fc.constantFrom('Jerry', 'Jеrry', 'JERRY', 'Tom', 'T0m', 'Tim', ''),
    });
    fc.assert(
      fc.property(fc.array(person, { maxLength: 8 }), (people) => {
        const similar = similarNames(people);
        for (const [uid, others] of similar) {
          for (const o of others) {
            expect(o.uid).not.toBe(uid);
            expect(similar.get(o.uid)?.some((x) => x.uid === uid)).toBe(true);
          }
        }
      }),
    );
  });
});

describe('handle', () => {
  it('is @username, or nothing while unknown', () => {
    expect(handle({ username: 'jerry' })).toBe('@jerry');
    expect(handle({ username: '' })).toBe('');
    expect(handle(null)).toBe('');
  });
});
