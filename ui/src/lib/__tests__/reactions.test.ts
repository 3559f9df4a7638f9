// Reactions: which messages take them, what the user's toggle does to a message's reactions (the
// copy shown until the backend's, which wins), how a reaction is described, and how the copies
// of a message with reactions merge (the answer of `react`, `messageUpdated` events, pages).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Reaction } from '../api';
import { createTranslator } from '../i18n';
import { applyUpdate, mergeMessages, upsertMessage } from '../messages';
import {
  canReact,
  isMine,
  isSingleEmoji,
  QUICK_REACTIONS,
  reactionLabel,
  reactionNames,
  REACTION_NAMES_SHOWN,
  setMine,
  shownReactions,
  toggledCopy,
} from '../reactions';
import { msg } from './fixtures';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');
const r = (emoji: string, names: string[], mine = false): Reaction => ({ emoji, count: names.length, mine, names });

describe('which messages take reactions', () => {
  it('sent ones, not recalled; not one being sent or failed', () => {
    expect(canReact(msg())).toBe(true);
    expect(canReact(msg({ seq: null, id: null, status: 'sending' }))).toBe(false);
    expect(canReact(msg({ seq: null, id: null, status: 'failed' }))).toBe(false);
    expect(canReact(msg({ recalled: true, text: '' }))).toBe(false);
  });

  it('a recalled message shows none, whatever its copy says', () => {
    expect(shownReactions(msg({ recalled: true, reactions: [r('👍', ['Jerry'])] }))).toEqual([]);
    expect(shownReactions(msg({ reactions: [r('👍', ['Jerry'])] }))).toHaveLength(1);
  });

  it('the quick ones: eight single emoji', () => {
    expect(QUICK_REACTIONS).toHaveLength(8);
    for (const e of QUICK_REACTIONS) expect(isSingleEmoji(e), e).toBe(true);
  });

  it('isSingleEmoji: one pictograph (with its modifiers), a flag, a keycap; not text, nor two', () => {
    for (const e of ['👍', '❤️', '👍🏽', '👨‍👩‍👧', '🇨🇳', '1️⃣', '🧀']) expect(isSingleEmoji(e), e).toBe(true);
    for (const e of ['', 'a', '👍👍', 'ok', '👍 ', ':)', '中']) expect(isSingleEmoji(e), e).toBe(false);
  });
});

describe('the user’s toggle', () => {
  it('on: a new emoji goes last with the user; an emoji there gains them', () => {
    const before = [r('👍', ['Jerry']), r('🎉', ['Spike'])];
    expect(setMine(before, '❤️', true, 'Tom')).toEqual([...before, r('❤️', ['Tom'], true)]);
    expect(setMine(before, '👍', true, 'Tom')).toEqual([r('👍', ['Jerry', 'Tom'], true), before[1]]);
  });

  it('off: the count drops and the user’s name goes; an emoji nobody has any more goes', () => {
    const before = [r('👍', ['Jerry', 'Tom'], true), r('❤️', ['Tom'], true)];
    expect(setMine(before, '👍', false, 'Tom')).toEqual([r('👍', ['Jerry']), before[1]]);
    expect(setMine(before, '❤️', false, 'Tom')).toEqual([before[0]]);
  });

  it('is idempotent: already so, the same array', () => {
    const before = [r('👍', ['Jerry', 'Tom'], true)];
    expect(setMine(before, '👍', true, 'Tom')).toBe(before);
    expect(setMine(before, '🎉', false, 'Tom')).toBe(before);
    expect(setMine([], '🎉', false, 'Tom')).toEqual([]);
  });

  it('toggledCopy: on when the user has none, off when they have it', () => {
    const m = msg({ reactions: [r('👍', ['Tom'], true)] });
    const off = toggledCopy(m, '👍', 'Tom');
    expect(off.on).toBe(false);
    expect(off.message.reactions).toEqual([]);
    const on = toggledCopy(off.message, '👍', 'Tom');
    expect(on.on).toBe(true);
    expect(on.message.reactions).toEqual(m.reactions);
    expect(m.reactions).toEqual([r('👍', ['Tom'], true)]); // (the input is not changed)
  });

  it('toggling twice gives back what was there, for any reactions and emoji (property)', () => {
    const reaction = fc.record({
      emoji: fc.constantFrom(...QUICK_REACTIONS),
      others: fc.array(fc.constantFrom('Jerry', 'Spike', 'Tyke'), { maxLength: 3 }),
      mine: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.uniqueArray(reaction, { selector: (x) => x.emoji, maxLength: 5 }), fc.constantFrom(...QUICK_REACTIONS), (given, emoji) => {
        const reactions = given
          .map((x) => r(x.emoji, x.mine ? [...x.others, 'Tom'] : x.others, x.mine))
          .filter((x) => x.count > 0);
        const had = isMine(reactions, emoji);
        const once = setMine(reactions, emoji, !had, 'Tom');
        expect(isMine(once, emoji)).toBe(!had);
        const total = (list: Reaction[]) => list.reduce((n, x) => n + x.count, 0);
        expect(total(once)).toBe(total(reactions) + (had ? -1 : 1));
        for (const x of once) expect(x.count).toBeGreaterThan(0);
        const back = setMine(once, emoji, had, 'Tom');
        // The same reactions (an emoji taken away and put back goes last).
        expect([...back].sort((a, b) => a.emoji.localeCompare(b.emoji))).toEqual([...reactions].sort((a, b) => a.emoji.localeCompare(b.emoji)));
      }),
    );
  });
});

describe('who reacted', () => {
  it('the label lists the names', () => {
    expect(reactionLabel(r('👍', ['Jerry', 'Tom'], true), en)).toBe('👍 2: Jerry, Tom');
    expect(reactionLabel(r('👍', ['Jerry', 'Tom'], true), zh)).toBe('👍 2：Jerry、Tom');
  });

  it('many names: the first few, and how many more', () => {
    const names = Array.from({ length: REACTION_NAMES_SHOWN + 3 }, (_, i) => `P${i}`);
    expect(reactionNames(r('🎉', names), en)).toBe(`${names.slice(0, REACTION_NAMES_SHOWN).join(', ')} and 3 more`);
    expect(reactionNames(r('🎉', names), zh)).toMatch(/及另外 3 人$/);
    // Fewer names than the count (a backend that sends only some): the rest counted.
    expect(reactionNames({ emoji: '🎉', count: 5, mine: false, names: ['Jerry'] }, en)).toBe('Jerry and 4 more');
    expect(reactionNames({ emoji: '🎉', count: 5, mine: false, names: [] }, en)).toBe('5');
  });
});

describe('copies of a message with reactions', () => {
  it('the copy that comes last wins when neither is a later revision (events in order)', () => {
    const m = msg({ reactions: [] });
    const one = { ...m, reactions: [r('👍', ['Jerry'])] };
    const two = { ...m, reactions: [r('👍', ['Jerry']), r('❤️', ['Spike'])] };
    expect(applyUpdate(applyUpdate([m], one), two)[0].reactions).toEqual(two.reactions);
    expect(applyUpdate(applyUpdate([m], two), one)[0].reactions).toEqual(one.reactions);
    // Twice the same: nothing else changes.
    const twice = applyUpdate(applyUpdate([m], two), two);
    expect(twice).toHaveLength(1);
    expect(twice[0].reactions).toEqual(two.reactions);
  });

  it('an edit is a later revision: a copy from before it does not bring its reactions back over it', () => {
    const m = msg({ reactions: [r('👍', ['Jerry'])] });
    const edited = { ...m, text: 'edited', editedAt: m.timestamp + 1000, reactions: [r('👍', ['Jerry']), r('🎉', ['Tom'], true)] };
    expect(upsertMessage([edited], m)[0]).toBe(edited);
    expect(mergeMessages([edited], [m])[0]).toBe(edited);
  });

  it('a recall is final: its (empty) reactions stay', () => {
    const m = msg({ reactions: [r('👍', ['Jerry'])] });
    const recalled = { ...m, text: '', recalled: true, reactions: [] };
    expect(applyUpdate([recalled], m)[0].reactions).toEqual([]);
  });
});
