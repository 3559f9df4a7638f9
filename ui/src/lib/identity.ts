// Telling people apart when their names look alike (anti-impersonation).
//
// A display name is free text: anyone can call themselves "Jerry", or "Jеrry" with a Cyrillic е,
// or "Jerry" followed by an invisible character. The UI therefore shows the `@username` (unique,
// ASCII, chosen at sign-up) wherever a person is identified for a decision, and warns when two
// different people the user knows have names that look the same. "Look the same" is decided on
// a *skeleton*: the name reduced to a canonical form in which confusable characters coincide.
import type { UserInfo } from './api';

/**
 * Characters that do not show (or barely): zero-width spaces and joiners, bidi controls, word
 * joiner and invisible operators, soft hyphen, variation selectors, Hangul fillers, tags…
 * (Unicode's Default_Ignorable_Code_Point), other format characters (Cf), controls (Cc),
 * and combining marks that only decorate a Latin, Greek or Cyrillic letter (é → e, ı̇ → ı).
 * White space and punctuation go too: "Tom." and "T om" pass for "Tom".
 */
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Cf}\p{Cc}\p{White_Space}\p{P}\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]/gu;

/**
 * Lowercase confusables → the Latin letter (or digit-free form) they pass for. Applied after case
 * folding, so each entry stands for both cases; where the capital and the small letter resemble
 * different Latin letters (Greek Η/η, Ν/ν, Μ/μ, Υ/υ) the capital wins, because it is identical to
 * a Latin capital while the small letter is merely similar. i, l, I, 1, | and friends all become
 * `l` (a capital I and a small l are the same stroke in most UI fonts, and case folding must not
 * tell them apart).
 */
const CONFUSABLES: Record<string, string> = {
  // Digits and symbols.
  '0': 'o',
  '1': 'l',
  '|': 'l',
  // Latin variants.
  i: 'l',
  ı: 'l',
  ɩ: 'l',
  ǀ: 'l',
  ɪ: 'l',
  ʟ: 'l',
  ȷ: 'j',
  ɑ: 'a',
  ɡ: 'g',
  ɢ: 'g',
  ᴀ: 'a',
  ʙ: 'b',
  ᴄ: 'c',
  ᴅ: 'd',
  ᴇ: 'e',
  ʜ: 'h',
  ᴊ: 'j',
  ᴋ: 'k',
  ᴍ: 'm',
  ɴ: 'n',
  ᴏ: 'o',
  ᴘ: 'p',
  ʀ: 'r',
  ꜱ: 's',
  ᴛ: 't',
  ᴜ: 'u',
  ᴠ: 'v',
  ᴡ: 'w',
  ʏ: 'y',
  ᴢ: 'z',
  ß: 'ss',
  // Cyrillic.
  а: 'a',
  в: 'b',
  ь: 'b',
  с: 'c',
  ԁ: 'd',
  е: 'e',
  ё: 'e',
  һ: 'h',
  н: 'h',
  і: 'l',
  ї: 'l',
  ӏ: 'l',
  ј: 'j',
  к: 'k',
  м: 'm',
  о: 'o',
  р: 'p',
  ԛ: 'q',
  г: 'r',
  ѕ: 's',
  т: 't',
  у: 'y',
  ү: 'y',
  ԝ: 'w',
  х: 'x',
  // Greek (σ/ς look like an o; the capitals decide, see above).
  α: 'a',
  β: 'b',
  ε: 'e',
  ζ: 'z',
  η: 'h',
  ι: 'l',
  κ: 'k',
  μ: 'm',
  ν: 'n',
  ο: 'o',
  ρ: 'p',
  σ: 'o',
  ς: 'o',
  τ: 't',
  υ: 'y',
  χ: 'x',
  ω: 'w',
  γ: 'y',
  // Armenian.
  օ: 'o',
  ս: 'u',
  հ: 'h',
  ո: 'n',
  ց: 'g',
  զ: 'q',
};

/** Letter pairs that pass for one letter: "rn" for "m", "vv" for "w". */
const PAIRS: [RegExp, string][] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
];

const CONFUSABLE_CHARS = new RegExp(`[${Object.keys(CONFUSABLES).join('').replace(/[|\\\]^-]/g, '\\$&')}]`, 'gu');

/**
 * The canonical form of a name for comparing how it *looks*: NFKC (fullwidth, mathematical and
 * circled letters, ligatures → plain), case-folded, invisible characters and decorations removed,
 * confusable letters from other scripts and look-alike digits mapped to the Latin letter they pass
 * for, and "rn"/"vv" joined to "m"/"w". Two names with the same skeleton can be mistaken for each
 * other. Idempotent; the same for any case of the name and with any invisible characters added.
 */
export function skeleton(name: string): string {
  let s = skeletons.get(name);
  if (s === undefined) {
    // The same names come back on every list change: remember them (a bounded cache).
    if (skeletons.size >= MAX_CACHED_SKELETONS) skeletons.clear();
    s = computeSkeleton(name);
    skeletons.set(name, s);
  }
  return s;
}

const MAX_CACHED_SKELETONS = 10_000;
const skeletons = new Map<string, string>();

function computeSkeleton(name: string): string {
  let s = name.normalize('NFKC');
  // Full case folding, near enough: through the capitals first, so ß/ẞ, ı/I/i, ſ and friends meet.
  s = s.toUpperCase().toLowerCase();
  s = s.normalize('NFKD').replace(INVISIBLE, '');
  s = s.replace(CONFUSABLE_CHARS, (c) => CONFUSABLES[c]);
  for (const [pair, one] of PAIRS) s = s.replace(pair, one);
  return s.normalize('NFC');
}

/** Someone the UI can name: a 1:1 peer, a group member, a message's sender, the user. */
export type Person = Pick<UserInfo, 'uid' | 'username' | 'displayName'>;

function samePerson(a: Person, b: Person): boolean {
  return a.uid === b.uid || (a.username !== '' && a.username === b.username);
}

/**
 * Among the people the UI knows (the user's contacts: 1:1 peers, group members, senders), those
 * whose display names look alike (equal skeletons) while they are different people (different
 * `uid`, and different usernames where both are known). Returns, for each such person's `uid`, the
 * others they could be mistaken for. A name that is nothing but invisible characters and
 * punctuation is not compared (it looks like nobody in particular). The same person may be given
 * more than once (e.g. from several conversations); a copy with a username wins over one without.
 */
export function similarNames(people: Iterable<Person>): Map<string, Person[]> {
  const byUid = new Map<string, Person>();
  for (const p of people) {
    if (!p.uid) continue;
    const held = byUid.get(p.uid);
    if (!held || (!held.username && p.username) || (!held.displayName && p.displayName)) byUid.set(p.uid, p);
  }
  const groups = new Map<string, Person[]>();
  for (const p of byUid.values()) {
    const key = skeleton(p.displayName || p.username);
    if (!key) continue;
    const group = groups.get(key);
    if (group) group.push(p);
    else groups.set(key, [p]);
  }
  const similar = new Map<string, Person[]>();
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    for (const p of group) {
      const others = group.filter((o) => !samePerson(o, p));
      if (others.length > 0) similar.set(p.uid, others);
    }
  }
  return similar;
}

/** `@username`, or '' while the username is not known. */
export function handle(p: Pick<UserInfo, 'username'> | null | undefined): string {
  return p?.username ? `@${p.username}` : '';
}

/** "Jerry (@jerry), Jеrry" — who someone could be mistaken for, for a warning's tooltip. */
export function describePeople(people: readonly Person[]): string {
  return people.map((p) => (p.username ? `${p.displayName || p.username} (@${p.username})` : p.displayName)).join(', ');
}
