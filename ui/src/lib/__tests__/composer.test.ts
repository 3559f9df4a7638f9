import { describe, expect, it } from 'vitest';
import {
  afterSend,
  cancelContext,
  charCount,
  composerKeyAction,
  contextKeyAction,
  editSave,
  reEdit,
  startEdit,
  startReply,
  withoutMessage,
  type ComposerState,
  counterThreshold,
  DEFAULT_MAX_TEXT_CHARS as MAX_TEXT_CHARS,
  limitInfo,
  normalizeMaxChars,
  textToSend,
  TypingNotifier,
} from '../composer';

describe('composerKeyAction', () => {
  it('Enter sends', () => {
    expect(composerKeyAction({ key: 'Enter' })).toBe('send');
    expect(composerKeyAction({ key: 'Enter', ctrlKey: true })).toBe('send');
  });

  it('Shift+Enter inserts a new line', () => {
    expect(composerKeyAction({ key: 'Enter', shiftKey: true })).toBe('newline');
  });

  it('the Enter that confirms an IME composition does not send', () => {
    expect(composerKeyAction({ key: 'Enter', isComposing: true })).toBe('none');
    // WebKit reports only keyCode 229 for keys the IME handles.
    expect(composerKeyAction({ key: 'Enter', keyCode: 229 })).toBe('none');
    expect(composerKeyAction({ key: 'Process', keyCode: 229 })).toBe('none');
  });

  it('other keys do nothing', () => {
    expect(composerKeyAction({ key: 'a' })).toBe('none');
    expect(composerKeyAction({ key: 'Escape' })).toBe('none');
  });
});

describe('text and limit', () => {
  it('does not send empty or whitespace-only text, and trims', () => {
    expect(textToSend('')).toBeNull();
    expect(textToSend('  \n\t ')).toBeNull();
    expect(textToSend('  hi \n')).toBe('hi');
    expect(textToSend('a\nb')).toBe('a\nb');
  });

  it('counts code points like the server', () => {
    expect(charCount('héllo')).toBe(5);
    expect(charCount('😀😀')).toBe(2);
    expect(charCount('你好')).toBe(2);
  });

  it('shows the counter near the limit and flags text over it', () => {
    expect(limitInfo('short')).toMatchObject({ show: false, over: false });
    expect(limitInfo('x'.repeat(3900))).toEqual({ count: 3900, show: true, over: false });
    expect(limitInfo('x'.repeat(MAX_TEXT_CHARS))).toMatchObject({ show: true, over: false });
    expect(limitInfo('x'.repeat(MAX_TEXT_CHARS + 1))).toMatchObject({ show: true, over: true });
    // 4096 emoji are 8192 UTF-16 units but within the limit.
    expect(limitInfo('😀'.repeat(MAX_TEXT_CHARS))).toMatchObject({ count: MAX_TEXT_CHARS, over: false });
  });

  it('uses the limit from app_info (maxTextChars) instead of 4096', () => {
    // A server configured with a small limit.
    expect(limitInfo('x'.repeat(100), 100)).toEqual({ count: 100, show: true, over: false });
    expect(limitInfo('x'.repeat(101), 100)).toEqual({ count: 101, show: true, over: true });
    expect(limitInfo('x'.repeat(89), 100)).toMatchObject({ show: false, over: false });
    expect(limitInfo('😀'.repeat(101), 100)).toMatchObject({ count: 101, over: true });
    // A larger one: 5,000 characters are fine, the counter shows only near 10,000.
    expect(limitInfo('x'.repeat(5000), 10_000)).toMatchObject({ show: false, over: false });
    expect(limitInfo('x'.repeat(10_001), 10_000)).toMatchObject({ show: true, over: true });
  });

  it('puts the counter 296 characters before the limit, or at 90% of a small one', () => {
    expect(counterThreshold(4096)).toBe(3800);
    expect(counterThreshold(100)).toBe(90);
    expect(counterThreshold(10_000)).toBe(9704);
  });

  it('takes maxTextChars from app_info when it is a positive number, else 4096', () => {
    expect(normalizeMaxChars(2000)).toBe(2000);
    expect(normalizeMaxChars(undefined)).toBe(4096);
    expect(normalizeMaxChars(0)).toBe(4096);
    expect(normalizeMaxChars(-5)).toBe(4096);
    expect(normalizeMaxChars('100')).toBe(4096);
    expect(normalizeMaxChars(Number.NaN)).toBe(4096);
  });
});

describe('TypingNotifier', () => {
  function setup() {
    const sent: boolean[] = [];
    let time = 0;
    const n = new TypingNotifier((on) => sent.push(on), () => time);
    return { sent, n, advance: (ms: number) => (time += ms) };
  }

  it('sends true at most every 3 s while typing', () => {
    const { sent, n, advance } = setup();
    n.input('h');
    advance(1000);
    n.input('he');
    advance(1000);
    n.input('hel');
    expect(sent).toEqual([true]);
    advance(1000);
    n.input('hell');
    expect(sent).toEqual([true, true]);
  });

  it('sends false once when the text is cleared or sent', () => {
    const { sent, n } = setup();
    n.input('hi');
    n.stop();
    n.stop();
    expect(sent).toEqual([true, false]);
    n.input('x');
    n.input('');
    expect(sent).toEqual([true, false, true, false]);
  });

  it('sends nothing for whitespace or a stop without typing', () => {
    const { sent, n } = setup();
    n.input('   ');
    n.stop();
    expect(sent).toEqual([]);
  });
});

describe('the composer context: replying and editing', () => {
  const tom = { seq: 4, fromName: 'Tom', text: 'Where is the cheese?', recalled: false };
  const jerry = { seq: 6, fromName: 'Jerry', text: 'Not telling', recalled: false };
  const empty: ComposerState = { text: '', context: null };
  const mine = { seq: 9, clientId: 'c9', text: 'I will find it' };

  it('Reply keeps what is written and quotes the message; another Reply replaces the quote; × drops it, the text stays', () => {
    let s = startReply({ text: 'half', context: null }, tom);
    expect(s).toEqual({ text: 'half', context: { kind: 'reply', to: tom } });
    s = startReply(s, jerry);
    expect(s.context).toEqual({ kind: 'reply', to: jerry });
    expect(cancelContext(s)).toEqual({ text: 'half', context: null });
  });

  it('Edit takes the message text; cancelling puts back what was written and the reply', () => {
    const before: ComposerState = { text: 'draft', context: { kind: 'reply', to: tom } };
    const editing = startEdit(before, mine);
    expect(editing.text).toBe('I will find it');
    expect(editing.context).toMatchObject({ kind: 'edit', seq: 9, clientId: 'c9', original: 'I will find it' });
    expect(cancelContext({ ...editing, text: 'I will find it!!' })).toEqual(before);
  });

  it('editing another message meanwhile keeps what was there before the first edit', () => {
    const first = startEdit({ text: 'draft', context: null }, mine);
    const second = startEdit(first, { seq: 10, clientId: 'c10', text: 'other' });
    expect(second.text).toBe('other');
    expect(cancelContext(second)).toEqual({ text: 'draft', context: null });
  });

  it('Reply while editing leaves the edit first (what was written comes back), then quotes', () => {
    const s = startReply(startEdit({ text: 'draft', context: null }, mine), jerry);
    expect(s).toEqual({ text: 'draft', context: { kind: 'reply', to: jerry } });
  });

  it('Enter while editing: unchanged (just leave), empty (not allowed), or the trimmed text to save', () => {
    const editing = startEdit(empty, mine);
    expect(editSave(editing)).toEqual({ kind: 'unchanged' });
    expect(editSave({ ...editing, text: '  I will find it \n' })).toEqual({ kind: 'unchanged' });
    expect(editSave({ ...editing, text: '   ' })).toEqual({ kind: 'empty' });
    expect(editSave({ ...editing, text: ' I found it ' })).toEqual({ kind: 'save', text: 'I found it' });
    expect(editSave({ text: 'x', context: { kind: 'reply', to: tom } })).toBeNull();
    expect(editSave(empty)).toBeNull();
  });

  it('sending empties the composer and drops the reply', () => {
    expect(afterSend()).toEqual(empty);
  });

  it('Re-edit puts a recalled text back (after what is written, on a new line) with its reply; an edit is left first', () => {
    expect(reEdit(empty, 'oops', null)).toEqual({ text: 'oops', context: null });
    expect(reEdit({ text: 'hello  ', context: null }, 'oops', tom)).toEqual({ text: 'hello\noops', context: { kind: 'reply', to: tom } });
    expect(reEdit(startEdit({ text: 'draft', context: null }, mine), 'oops', null)).toEqual({ text: 'draft\noops', context: null });
  });

  it('the message being edited is recalled or deleted: the edit ends; another message: nothing changes', () => {
    const editing = startEdit({ text: 'draft', context: null }, mine);
    expect(withoutMessage(editing, 9)).toEqual({ text: 'draft', context: null });
    expect(withoutMessage(editing, 8)).toBe(editing);
    const replying: ComposerState = { text: 'x', context: { kind: 'reply', to: tom } };
    expect(withoutMessage(replying, 4)).toBe(replying);
  });

  it('keys: Esc leaves a reply or an edit; ↑ in an empty composer edits the last message', () => {
    expect(contextKeyAction({ key: 'Escape' }, 'x', true)).toBe('cancel');
    expect(contextKeyAction({ key: 'Escape' }, 'x', false)).toBe('none');
    expect(contextKeyAction({ key: 'ArrowUp' }, '', false)).toBe('editLast');
    expect(contextKeyAction({ key: 'ArrowUp' }, 'typed', false)).toBe('none');
    expect(contextKeyAction({ key: 'ArrowUp', shiftKey: true }, '', false)).toBe('none');
    expect(contextKeyAction({ key: 'ArrowUp', altKey: true }, '', false)).toBe('none'); // (Alt+↑: the previous conversation)
    expect(contextKeyAction({ key: 'Escape', isComposing: true }, 'x', true)).toBe('none'); // (the IME's)
  });
});
