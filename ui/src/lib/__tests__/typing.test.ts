import { describe, expect, it } from 'vitest';
import { TypingTracker, typingText, TYPING_TTL_MS } from '../typing';
import { createTranslator } from '../i18n';

const en = createTranslator('en');
const ev = (uid: string, name: string, typing = true, conversationId = 'c1') => ({ conversationId, uid, name, typing });

describe('TypingTracker', () => {
  it('shows a typing user until 6 s pass', () => {
    const tr = new TypingTracker();
    tr.apply(ev('u1', 'Jerry'), 1000);
    expect(tr.names('c1', 1000)).toEqual(['Jerry']);
    expect(tr.names('c1', 1000 + TYPING_TTL_MS - 1)).toEqual(['Jerry']);
    expect(tr.names('c1', 1000 + TYPING_TTL_MS)).toEqual([]);
  });

  it('a new typing event renews the 6 s', () => {
    const tr = new TypingTracker();
    tr.apply(ev('u1', 'Jerry'), 0);
    tr.apply(ev('u1', 'Jerry'), 5000);
    expect(tr.names('c1', 10_000)).toEqual(['Jerry']);
    expect(tr.nextExpiry(10_000)).toBe(11_000);
  });

  it('typing false or a message from them ends it', () => {
    const tr = new TypingTracker();
    tr.apply(ev('u1', 'Jerry'), 0);
    tr.apply(ev('u2', 'Spike'), 0);
    tr.apply(ev('u1', 'Jerry', false), 10);
    expect(tr.names('c1', 20)).toEqual(['Spike']);
    tr.stopped('c1', 'u2');
    expect(tr.names('c1', 20)).toEqual([]);
    expect(tr.nextExpiry(20)).toBeNull();
  });

  it('keeps conversations apart and drops expired entries', () => {
    const tr = new TypingTracker();
    tr.apply(ev('u1', 'Jerry', true, 'a'), 0);
    expect(tr.names('b', 0)).toEqual([]);
    expect(tr.nextExpiry(TYPING_TTL_MS + 1)).toBeNull();
    expect(tr.names('a', 0)).toEqual([]);
  });
});

describe('typingText', () => {
  it('words one, two and many', () => {
    expect(typingText([], en)).toBe('');
    expect(typingText(['Jerry'], en)).toBe('Jerry is typing…');
    expect(typingText(['Jerry', 'Spike'], en)).toBe('Jerry and Spike are typing…');
    expect(typingText(['a', 'b', 'c'], en)).toBe('3 people are typing…');
  });
});
