// What a message's actions menu offers at a given time (reply, copy, edit within its window, recall
// within its window or as a group's manager, delete for me; less for one being sent or failed;
// nothing for a recalled one), what ↑ edits, what a reply's quote shows, and how long "Re-edit"
// stays offered.
import { describe, expect, it } from 'vitest';
import {
  canEdit,
  canReEdit,
  canRecall,
  lastEditable,
  messageActions,
  previewOf,
  quoteOf,
  REEDIT_WINDOW_MS,
} from '../messageActions';
import { msg } from './fixtures';

const NOW = 1_700_000_000_000;
const HOUR = 3_600_000;
/** An own sent text, editable for 48 h and recallable for 24 h from `sentAgo` ago. */
const own = (sentAgo: number, p: Parameters<typeof msg>[0] = {}) =>
  msg({
    own: true,
    from: 'u-tom',
    fromName: 'Tom',
    timestamp: NOW - sentAgo,
    editableUntil: NOW - sentAgo + 48 * HOUR,
    recallableUntil: NOW - sentAgo + 24 * HOUR,
    ...p,
  });

describe('messageActions', () => {
  it('an own text just sent: Reply, Copy, Edit, Recall, Delete, in that order', () => {
    expect(messageActions(own(60_000), NOW)).toEqual(['reply', 'copy', 'edit', 'recall', 'delete']);
  });

  it('the windows close one after the other: recall after 24 h, edit after 48 h', () => {
    expect(messageActions(own(25 * HOUR), NOW)).toEqual(['reply', 'copy', 'edit', 'delete']);
    expect(messageActions(own(49 * HOUR), NOW)).toEqual(['reply', 'copy', 'delete']);
    // (The very end of a window is past it.)
    const m = own(0, { editableUntil: NOW, recallableUntil: NOW });
    expect(canEdit(m, NOW)).toBe(false);
    expect(canRecall(m, NOW)).toBe(false);
    expect(canEdit(m, NOW - 1)).toBe(true);
  });

  it("someone else's message: Reply, Copy, Delete; a group's manager may also recall it", () => {
    expect(messageActions(msg({ text: 'hi' }), NOW)).toEqual(['reply', 'copy', 'delete']);
    const managed = msg({ text: 'hi', recallableUntil: 8_640_000_000_000_000 });
    expect(messageActions(managed, NOW)).toEqual(['reply', 'copy', 'recall', 'delete']);
    // Never editable, whatever the backend said.
    expect(canEdit(msg({ editableUntil: NOW + HOUR }), NOW)).toBe(false);
  });

  it('one being sent: only Copy; a failed one: Copy and Delete (discarded from the outbox)', () => {
    const sending = own(0, { seq: null, id: null, status: 'sending', editableUntil: null, recallableUntil: null });
    expect(messageActions(sending, NOW)).toEqual(['copy']);
    const failed = own(0, { seq: null, id: null, status: 'failed', error: { code: 'internal', message: '' } });
    expect(messageActions(failed, NOW)).toEqual(['copy', 'delete']);
    // Even with windows given by mistake, an unsent message is not edited or recalled.
    expect(canEdit(failed, NOW)).toBe(false);
    expect(canRecall(failed, NOW)).toBe(false);
  });

  it('a recalled message: nothing; an empty text: no Copy', () => {
    expect(messageActions(own(0, { recalled: true, text: '', recalledByName: 'Tom' }), NOW)).toEqual([]);
    expect(messageActions(msg({ text: '' }), NOW)).toEqual(['reply', 'delete']);
  });
});

describe('lastEditable (↑ in an empty composer)', () => {
  it('is the newest own message still editable', () => {
    const old = own(50 * HOUR, { text: 'too old' });
    const a = own(3 * HOUR, { text: 'a' });
    const b = own(2 * HOUR, { text: 'b' });
    const theirs = msg({ text: 'theirs' });
    const recalled = own(HOUR, { text: '', recalled: true });
    const sending = own(0, { seq: null, status: 'sending' });
    expect(lastEditable([old, a, b, theirs, recalled, sending], NOW)?.text).toBe('b');
    expect(lastEditable([old, theirs], NOW)).toBeNull();
    expect(lastEditable([], NOW)).toBeNull();
  });
});

describe('quoteOf (what a reply shows above its text)', () => {
  it('the original as loaded here: its name and one line of its text, edits and recalls included', () => {
    const original = msg({ seq: 7, fromName: 'Jerry', text: 'first\n  line' });
    const replyTo = { seq: 7, fromName: 'Jerry', text: 'stale', recalled: false };
    expect(quoteOf(replyTo, original)).toEqual({ kind: 'text', seq: 7, name: 'Jerry', text: 'first line' });
    expect(quoteOf(replyTo, { ...original, recalled: true, text: '' })).toEqual({ kind: 'recalled', seq: 7, name: 'Jerry' });
  });

  it("not loaded: the backend's preview; recalled; or not known (“Original message”)", () => {
    expect(quoteOf({ seq: 3, fromName: 'Tom', text: 'hello\nthere', recalled: false })).toEqual({ kind: 'text', seq: 3, name: 'Tom', text: 'hello there' });
    expect(quoteOf({ seq: 3, fromName: 'Tom', text: null, recalled: true })).toEqual({ kind: 'recalled', seq: 3, name: 'Tom' });
    expect(quoteOf({ seq: 3, fromName: null, text: null, recalled: false })).toEqual({ kind: 'unknown', seq: 3 });
    // A loaded message with another seq is not it.
    expect(quoteOf({ seq: 3, fromName: null, text: null, recalled: false }, msg({ seq: 4 })).kind).toBe('unknown');
  });

  it('previewOf: a message as the preview a reply to it starts with', () => {
    expect(previewOf(msg({ seq: 9, fromName: 'Spike', text: 'yo' }))).toEqual({ seq: 9, fromName: 'Spike', text: 'yo', recalled: false });
  });
});

describe('canReEdit', () => {
  it('for a few minutes after the recall, when there was text', () => {
    const kept = { text: 'oops', replyTo: null, at: NOW };
    expect(canReEdit(kept, NOW + 1000)).toBe(true);
    expect(canReEdit(kept, NOW + REEDIT_WINDOW_MS - 1)).toBe(true);
    expect(canReEdit(kept, NOW + REEDIT_WINDOW_MS)).toBe(false);
    expect(canReEdit({ ...kept, text: '  ' }, NOW)).toBe(false);
    expect(canReEdit(undefined, NOW)).toBe(false);
  });
});
