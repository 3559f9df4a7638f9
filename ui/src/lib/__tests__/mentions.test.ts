// @mentions: when the composer's text calls for the member picker, whom it offers for a query
// (display name or username, any case, Chinese, @all for the manager first, never the user), what
// choosing one does to the text, which chosen mentions survive editing the text before it is sent,
// and how a message's text is cut to highlight the names it mentions.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { MemberInfo } from '../api';
import {
  ALL_TOKENS,
  canMentionAll,
  hasMention,
  insertMention,
  keptPicks,
  mentionedNames,
  mentionName,
  mentionOptions,
  mentionSegments,
  mentionsToSend,
  mentionTrigger,
  MENTION_QUERY_MAX,
  type MentionOption,
} from '../mentions';

const member = (uid: string, displayName: string, username = '', p: Partial<MemberInfo> = {}): MemberInfo => ({
  uid,
  username,
  displayName,
  manager: false,
  me: false,
  ...p,
});
const tom = member('u-tom', 'Tom', 'tom', { manager: true, me: true });
const jerry = member('u-jerry', 'Jerry', 'jerry');
const spike = member('u-spike', 'Spike Bulldog', 'spike');
const tuffy = member('u-tuffy', 'Tuffy', 'nibbles');
const zhang = member('u-zhang', '张三', 'zhangsan');
const wide = member('u-wide', 'ＡＢＣ', 'abc_wide'); // full-width letters
const members = [tom, jerry, spike, tuffy, zhang, wide];
const ids = (options: MentionOption[]) => options.map((o) => (o.kind === 'all' ? '@all' : o.member.uid));

describe('mentionTrigger', () => {
  it('an @ at the start or after white space, up to the caret', () => {
    expect(mentionTrigger('@', 1)).toEqual({ start: 0, end: 1, query: '' });
    expect(mentionTrigger('@je', 3)).toEqual({ start: 0, end: 3, query: 'je' });
    expect(mentionTrigger('hi @Je', 6)).toEqual({ start: 3, end: 6, query: 'Je' });
    expect(mentionTrigger('line\n@张', 7)).toEqual({ start: 5, end: 7, query: '张' });
    // The caret in the middle: what is before it.
    expect(mentionTrigger('hi @Jerry there', 6)).toEqual({ start: 3, end: 6, query: 'Je' });
  });

  it('none inside a word (an e-mail address), after a space following the @, or too far from it', () => {
    expect(mentionTrigger('tom@example', 11)).toBeNull();
    expect(mentionTrigger('@ ', 2)).toBeNull();
    expect(mentionTrigger('@Jerry there', 12)).toBeNull();
    expect(mentionTrigger('hello', 5)).toBeNull();
    expect(mentionTrigger('', 0)).toBeNull();
    const long = '@' + 'x'.repeat(MENTION_QUERY_MAX);
    expect(mentionTrigger(long, long.length)?.query).toHaveLength(MENTION_QUERY_MAX);
    expect(mentionTrigger(long + 'x', long.length + 1)).toBeNull();
  });
});

describe('mentionOptions', () => {
  it('the manager: @all first, then the other members in the group’s order (never the user)', () => {
    expect(ids(mentionOptions(members, '', { canAll: true }))).toEqual(['@all', 'u-jerry', 'u-spike', 'u-tuffy', 'u-zhang', 'u-wide']);
    expect(ids(mentionOptions(members, '', { canAll: false }))).toEqual(['u-jerry', 'u-spike', 'u-tuffy', 'u-zhang', 'u-wide']);
  });

  it('filters by display name or username, any case, names starting with it first', () => {
    expect(ids(mentionOptions(members, 'j', { canAll: false }))).toEqual(['u-jerry']);
    expect(ids(mentionOptions(members, 'JER', { canAll: false }))).toEqual(['u-jerry']);
    expect(ids(mentionOptions(members, 'nib', { canAll: false }))).toEqual(['u-tuffy']); // by username
    expect(ids(mentionOptions(members, 'bull', { canAll: false }))).toEqual(['u-spike']); // a word of the name
    expect(ids(mentionOptions(members, 'spikebu', { canAll: false }))).toEqual(['u-spike']); // without its space
    // Inside a name only: still offered, in the group's order.
    expect(ids(mentionOptions(members, 'u', { canAll: false }))).toEqual(['u-spike', 'u-tuffy']);
    // A name starting with it comes before one that only has it inside.
    expect(ids(mentionOptions(members, 'b', { canAll: false }))).toEqual(['u-spike', 'u-tuffy', 'u-wide']);
    expect(ids(mentionOptions(members, 'nobody', { canAll: true }))).toEqual([]);
  });

  it('Chinese names, and full-width letters, match', () => {
    expect(ids(mentionOptions(members, '张', { canAll: false }))).toEqual(['u-zhang']);
    expect(ids(mentionOptions(members, '三', { canAll: false }))).toEqual(['u-zhang']);
    expect(ids(mentionOptions(members, 'zhang', { canAll: false }))).toEqual(['u-zhang']);
    expect(ids(mentionOptions(members, 'abc', { canAll: false }))).toEqual(['u-wide']);
    expect(ids(mentionOptions(members, 'ＡＢ', { canAll: false }))).toEqual(['u-wide']);
  });

  it('@all by its words (all, 所有人, everyone, the UI’s own), for the manager only', () => {
    for (const q of ['a', 'al', 'ALL', '所', '所有人', 'every', 'qsr']) expect(ids(mentionOptions(members, q, { canAll: true }))[0]).toBe('@all');
    expect(ids(mentionOptions(members, 'Alle', { canAll: true, allNames: ['Alle'] }))).toEqual(['@all']);
    expect(ids(mentionOptions(members, 'al', { canAll: false }))).toEqual([]);
    expect(ids(mentionOptions(members, 'j', { canAll: true }))).toEqual(['u-jerry']);
  });

  it('canMentionAll: a group the user manages', () => {
    expect(canMentionAll('GROUP_CHAT', members)).toBe(true);
    expect(canMentionAll('GROUP_CHAT', [{ ...tom, manager: false }, { ...jerry, manager: true }])).toBe(false);
    expect(canMentionAll('SINGLE_CHAT', members)).toBe(false);
  });

  it('never offers the user, and each member at most once, whatever the query', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 4 }), fc.boolean(), (q, canAll) => {
        const got = ids(mentionOptions(members, q, { canAll }));
        expect(got).not.toContain('u-tom');
        expect(new Set(got).size).toBe(got.length);
        if (got.includes('@all')) expect(got[0]).toBe('@all');
      }),
    );
  });
});

describe('insertMention', () => {
  it('replaces the @ and the query with @name and a space; the caret after it', () => {
    expect(insertMention('@je', { start: 0, end: 3 }, 'Jerry')).toEqual({ text: '@Jerry ', caret: 7 });
    expect(insertMention('hi @je', { start: 3, end: 6 }, 'Jerry')).toEqual({ text: 'hi @Jerry ', caret: 10 });
    // In the middle of the text: what follows stays.
    expect(insertMention('hi @je, see', { start: 3, end: 6 }, 'Jerry')).toEqual({ text: 'hi @Jerry , see', caret: 10 });
    // A space follows already: no second one; the caret goes past it.
    expect(insertMention('@j there', { start: 0, end: 2 }, 'Jerry')).toEqual({ text: '@Jerry there', caret: 7 });
    expect(insertMention('@张', { start: 0, end: 2 }, '张三')).toEqual({ text: '@张三 ', caret: 4 });
  });

  it('mentionName: the display name, else the username, else the uid', () => {
    expect(mentionName(spike)).toBe('Spike Bulldog');
    expect(mentionName(member('u-x', '  ', 'xavier'))).toBe('xavier');
    expect(mentionName(member('u-y', '', ''))).toBe('u-y');
  });
});

describe('which mentions are sent', () => {
  const picks = [
    { uid: 'u-jerry', name: 'Jerry' },
    { uid: 'u-spike', name: 'Spike Bulldog' },
    { uid: null, name: 'all' },
  ];

  it('those whose @name is still in the text', () => {
    expect(mentionsToSend('@Jerry @Spike Bulldog @all hi', picks)).toEqual({ mentions: ['u-jerry', 'u-spike'], mentionAll: true });
    expect(mentionsToSend('@Jerry hi', picks)).toEqual({ mentions: ['u-jerry'], mentionAll: false });
    expect(mentionsToSend('hi all', picks)).toEqual({ mentions: [], mentionAll: false });
    expect(mentionsToSend('', [])).toEqual({ mentions: [], mentionAll: false });
  });

  it('a name edited, cut short or run into a word no longer counts', () => {
    expect(mentionsToSend('@Jery hi', picks).mentions).toEqual([]);
    expect(mentionsToSend('@Spike hi', picks).mentions).toEqual([]);
    expect(mentionsToSend('@Jerrys hi', picks).mentions).toEqual([]);
    expect(mentionsToSend('mail@Jerry', picks).mentions).toEqual([]);
    expect(mentionsToSend('@allright', picks).mentionAll).toBe(false);
    // Punctuation after it is fine.
    expect(mentionsToSend('(@Jerry), hi', picks).mentions).toEqual(['u-jerry']);
    expect(mentionsToSend('@Jerry: hi', picks).mentions).toEqual(['u-jerry']);
  });

  it('a Chinese name may run on into the text (no spaces in Chinese)', () => {
    const zh = [{ uid: 'u-zhang', name: '张三' }];
    expect(mentionsToSend('@张三你好', zh).mentions).toEqual(['u-zhang']);
    expect(hasMention('你好@张三', '张三')).toBe(false); // (inside a word before it)
    expect(hasMention('你好 @张三', '张三')).toBe(true);
  });

  it('each uid once, even when chosen twice', () => {
    expect(mentionsToSend('@Jerry and @Jerry', [picks[0], picks[0]]).mentions).toEqual(['u-jerry']);
  });

  it('keptPicks: the picks whose names are still there (the same array when all are)', () => {
    expect(keptPicks('@Jerry @Spike Bulldog @all', picks)).toBe(picks);
    expect(keptPicks('@Jerry', picks)).toEqual([picks[0]]);
  });

  it('a mention inserted stays sent, whatever else is typed around it (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 }), (before, after) => {
        const text = `${before} @`;
        const inserted = insertMention(text, { start: text.length - 1, end: text.length }, 'Jerry');
        const final = inserted.text.slice(0, inserted.caret) + after;
        expect(mentionsToSend(final, [picks[0]]).mentions, JSON.stringify(final)).toEqual(['u-jerry']);
        // Its name taken back (the space after it, then letters typed on): it is not sent.
        const runOn = inserted.text.slice(0, inserted.caret - 1) + 'x' + after;
        if (!before.includes('@Jerry') && !after.includes('@Jerry')) {
          expect(mentionsToSend(runOn, [picks[0]]).mentions, JSON.stringify(runOn)).toEqual([]);
        }
      }),
    );
  });
});

describe('mentionSegments', () => {
  it('cuts out each @name mentioned (the longest first), the rest plain', () => {
    expect(mentionSegments('@Jerry hi @Spike Bulldog!', ['Jerry', 'Spike Bulldog'])).toEqual([
      { text: '@Jerry', mention: true },
      { text: ' hi ', mention: false },
      { text: '@Spike Bulldog', mention: true },
      { text: '!', mention: false },
    ]);
    expect(mentionSegments('@Tommy and @Tom', ['Tom', 'Tommy'])).toEqual([
      { text: '@Tommy', mention: true },
      { text: ' and ', mention: false },
      { text: '@Tom', mention: true },
    ]);
  });

  it('leaves what is not a mention alone: other names, e-mail addresses, names run into words', () => {
    expect(mentionSegments('@Jerry hi', [])).toEqual([{ text: '@Jerry hi', mention: false }]);
    expect(mentionSegments('mail tom@Jerry.org', ['Jerry'])).toEqual([{ text: 'mail tom@Jerry.org', mention: false }]);
    expect(mentionSegments('@Jerrys', ['Jerry'])).toEqual([{ text: '@Jerrys', mention: false }]);
    expect(mentionSegments('', ['Jerry'])).toEqual([{ text: '', mention: false }]);
    expect(mentionSegments('@所有人 开会', [...ALL_TOKENS])).toEqual([
      { text: '@所有人', mention: true },
      { text: ' 开会', mention: false },
    ]);
  });

  it('the segments always make up the text (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }), (text, names) => {
        expect(mentionSegments(text, names).map((s) => s.text).join('')).toBe(text);
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom('@Jerry', '@Tom', ' ', 'x', '@', '@all', '张'), { maxLength: 12 }), (parts) => {
        const text = parts.join('');
        const segments = mentionSegments(text, ['Jerry', 'Tom', 'all']);
        expect(segments.map((s) => s.text).join('')).toBe(text);
        for (const s of segments.filter((x) => x.mention)) expect(['@Jerry', '@Tom', '@all']).toContain(s.text);
      }),
    );
  });

  it('mentionedNames: the names of the uids mentioned (known ones), and the words of @all', () => {
    const names = new Map([['u-jerry', 'Jerry']]);
    expect(mentionedNames({ mentions: ['u-jerry', 'u-unknown'], mentionAll: false }, (u) => names.get(u))).toEqual(['Jerry']);
    expect(mentionedNames({ mentions: [], mentionAll: true }, () => null)).toEqual(['all', '所有人']);
  });
});
