import { describe, expect, it } from 'vitest';
import { DraftStore } from '../drafts';

describe('DraftStore', () => {
  it('keeps a draft per conversation', () => {
    const d = new DraftStore();
    d.set('a', 'hello A');
    d.set('b', 'hello B');
    expect(d.get('a')).toBe('hello A');
    expect(d.get('b')).toBe('hello B');
    expect(d.get('c')).toBe('');
  });

  it('switching back restores the draft; sending clears it', () => {
    const d = new DraftStore();
    d.set('a', 'half-written');
    d.set('b', 'other');
    expect(d.get('a')).toBe('half-written');
    d.clear('a');
    expect(d.get('a')).toBe('');
    expect(d.get('b')).toBe('other');
  });

  it('an empty draft is dropped; whitespace does not count as a draft', () => {
    const d = new DraftStore();
    d.set('a', 'x');
    d.set('a', '');
    expect(d.has('a')).toBe(false);
    d.set('a', '  ');
    expect(d.has('a')).toBe(false);
    d.clearAll();
    expect(d.get('a')).toBe('');
  });
});
