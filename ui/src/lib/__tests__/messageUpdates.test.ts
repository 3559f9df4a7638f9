// Editing, recalling, deleting for me and replying, through the real stores against the mock
// backend: the composer's edit mode (save, unchanged, empty, refused), a recall and its "Re-edit",
// a group manager's recall, deleting (also a failed message) without anything coming back from a
// page or an event on its way, `messageUpdated` events (for a message not loaded, twice, before
// the ack, overtaking an answer), replies (sent, quoted) and the jump to the message a reply
// quotes, far up in the history (older pages loaded until it is there).
import { afterEach, describe, expect, it } from 'vitest';
import type { UiMessage } from '../api';
import { errorText, t } from '../i18n';

import { bySeq, disposeApps, emit, HOUR, ownSent, setup, thread } from './scriptedApp';

afterEach(disposeApps);

describe('editing through the composer', () => {
  it('Edit: the composer takes the text; Enter saves it (the message shows edited), the draft and the reply come back', async () => {
    const { app, calls } = await setup();
    await app.select('c-jerry');
    const mine = ownSent(app).slice(-1)[0]!;
    const theirs = thread(app).find((m) => !m.own)!;
    app.drafts.set('c-jerry', 'half written');
    app.startReply(theirs);
    app.startEdit(mine);
    expect(app.composer('c-jerry')).toMatchObject({ text: mine.text, context: { kind: 'edit', seq: mine.seq } });
    app.drafts.set('c-jerry', 'a better text ');
    expect(await app.saveEdit('c-jerry')).toBe(true);
    expect(calls('edit_message').map((c) => c.args)).toEqual([{ conversationId: 'c-jerry', seq: mine.seq, text: 'a better text' }]);
    expect(bySeq(app, mine.seq!)).toMatchObject({ text: 'a better text', clientId: mine.clientId });
    expect(bySeq(app, mine.seq!)!.editedAt).toEqual(expect.any(Number));
    expect(app.composer('c-jerry')).toEqual({ text: 'half written', context: { kind: 'reply', to: expect.objectContaining({ seq: theirs.seq }) } });
    expect(app.toasts).toEqual([]);
  });

  it('unchanged text just leaves the edit (nothing sent); an empty one is not saved', async () => {
    const { app, calls } = await setup();
    await app.select('c-jerry');
    const mine = ownSent(app).slice(-1)[0]!;
    app.startEdit(mine);
    app.drafts.set('c-jerry', '   ');
    expect(await app.saveEdit('c-jerry')).toBe(false);
    expect(app.composer('c-jerry').context?.kind).toBe('edit');
    app.drafts.set('c-jerry', `${mine.text}\n`);
    expect(await app.saveEdit('c-jerry')).toBe(true);
    expect(app.composer('c-jerry')).toEqual({ text: '', context: null });
    expect(calls('edit_message')).toHaveLength(0);
  });

  it('too late (the backend says window_closed): a toast, and the edit stays with its text', async () => {
    const { app } = await setup(200); // (the oldest messages are days old)
    await app.select('c-jerry');
    await app.loadOlder(app.currentThread!);
    const old = ownSent(app)[0];
    app.startEdit(old);
    app.drafts.set('c-jerry', 'too late');
    expect(await app.saveEdit('c-jerry')).toBe(false);
    expect(app.toasts.map((x) => x.text)).toEqual([errorText('en', { code: 'window_closed', message: '' })]);
    expect(app.composer('c-jerry')).toMatchObject({ text: 'too late', context: { kind: 'edit' } });
    expect(bySeq(app, old.seq!)!.text).toBe(old.text);
  });

  it('the message being edited is recalled elsewhere: the edit ends', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    const mine = ownSent(app).slice(-1)[0]!;
    app.drafts.set('c-jerry', 'draft');
    app.startEdit(mine);
    control.recall('c-jerry', mine.seq!);
    await Promise.resolve();
    expect(bySeq(app, mine.seq!)).toMatchObject({ recalled: true, text: '' });
    expect(app.composer('c-jerry')).toEqual({ text: 'draft', context: null });
  });
});

describe('recalling', () => {
  it('an own message: it becomes the recall line (also in the list), and "Re-edit" puts its text back with its reply', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    const theirs = thread(app).filter((m) => !m.own).slice(-1)[0]!;
    expect(await app.send('c-jerry', 'oops, wrong chat', theirs.seq)).toBe(true);
    const pending = control.pending()[0];
    control.ack('c-jerry', pending.clientId);
    await Promise.resolve();
    const sent = thread(app).find((m) => m.clientId === pending.clientId)!;
    expect(sent.replyTo?.seq).toBe(theirs.seq);
    expect(await app.recallMessage(sent)).toBe(true);
    const line = thread(app).find((m) => m.clientId === sent.clientId)!;
    expect(line).toMatchObject({ recalled: true, text: '', recalledByName: 'Tom' });
    expect(app.conversationById('c-jerry')!.lastMessage).toMatchObject({ recalled: true });
    expect(app.recalledText(line)).toMatchObject({ text: 'oops, wrong chat' });
    expect(app.reEdit(line)).toBe(true);
    expect(app.composer('c-jerry')).toEqual({ text: 'oops, wrong chat', context: { kind: 'reply', to: expect.objectContaining({ seq: theirs.seq }) } });
    // Once only.
    expect(app.recalledText(line)).toBeNull();
    expect(app.reEdit(line)).toBe(false);
  });

  it("someone else's message: only a group's manager may (else not_sender)", async () => {
    const { app } = await setup();
    await app.select('c-jerry');
    const theirs = thread(app).filter((m) => !m.own).slice(-1)[0]!;
    expect(await app.recallMessage(theirs)).toBe(false);
    expect(app.toasts.map((x) => x.text)).toEqual([errorText('en', { code: 'not_sender', message: '' })]);
    await app.select('c-group'); // (Tom manages it)
    const spike = thread(app).find((m) => m.from === 'u-spike')!;
    expect(spike.recallableUntil).toBeGreaterThan(Date.now() + 365 * 24 * HOUR);
    expect(await app.recallMessage(spike)).toBe(true);
    expect(bySeq(app, spike.seq!)).toMatchObject({ recalled: true, recalledByName: 'Tom', from: 'u-spike' });
    expect(app.recalledText(bySeq(app, spike.seq!)!)).toBeNull(); // (not an own text: no Re-edit)
  });
});

describe('deleting for me', () => {
  it('the message goes from the thread, and the list shows the one before it', async () => {
    const { app, mock } = await setup();
    await app.select('c-jerry');
    const last = thread(app).slice(-1)[0]!;
    const before = thread(app).slice(-2)[0]!;
    expect(await app.deleteForMe(last)).toBe(true);
    expect(thread(app).some((m) => m.clientId === last.clientId)).toBe(false);
    expect(app.conversationById('c-jerry')!.lastMessage?.clientId).toBe(before.clientId);
    expect(mock.control.items().find((c) => c.id === 'c-jerry')!.lastMessage?.clientId).toBe(before.clientId);
  });

  it('a page fetched before the delete, a late event about it, a resync: it does not come back', async () => {
    const { app, control, hold, release } = await setup();
    await app.select('c-jerry');
    const victim = thread(app).slice(-3)[0]!;
    hold((cmd) => cmd === 'load_messages');
    const resync = app.resync(); // the newest page, fetched before the delete
    await Promise.resolve();
    expect(await app.deleteForMe(victim)).toBe(true);
    await release();
    await resync;
    expect(thread(app).some((m) => m.clientId === victim.clientId)).toBe(false);
    // Updates about it (its sender edits it) change nothing here.
    control.edit('c-jerry', victim.seq!, 'changed');
    await Promise.resolve();
    expect(thread(app).some((m) => m.clientId === victim.clientId)).toBe(false);
    await app.resync();
    expect(thread(app).some((m) => m.clientId === victim.clientId)).toBe(false);
    // And no hole was seen where it was: the older messages stay.
    expect(thread(app)[0].seq).toBe(1);
  });

  it('a failed message is discarded from the outbox', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    await app.send('c-jerry', 'not going anywhere');
    const pending = control.pending()[0];
    control.fail('c-jerry', pending.clientId);
    await Promise.resolve();
    const failed = thread(app).find((m) => m.clientId === pending.clientId)!;
    expect(failed.status).toBe('failed');
    expect(await app.deleteForMe(failed)).toBe(true);
    expect(thread(app).some((m) => m.clientId === pending.clientId)).toBe(false);
    expect(control.messages('c-jerry').some((m) => m.clientId === pending.clientId)).toBe(false);
  });

  it('one still being sent cannot be (the backend refuses: a toast, it stays)', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    await app.send('c-jerry', 'on its way');
    const pending = thread(app).find((m) => m.clientId === control.pending()[0].clientId)!;
    expect(await app.deleteForMe(pending)).toBe(false);
    expect(app.toasts).toHaveLength(1);
    expect(thread(app).some((m) => m.clientId === pending.clientId)).toBe(true);
  });

  it('a message deleted while unread is marked read (its badge does not stay)', async () => {
    const { app, control, calls, tick } = await setup();
    await app.select('c-jerry');
    app.setViewAtBottom('c-jerry', false); // scrolled up: nothing is marked read
    const news = control.incoming('c-jerry', 'u-jerry', 'unread news');
    await Promise.resolve();
    expect(await app.deleteForMe(thread(app).find((m) => m.clientId === news.clientId)!)).toBe(true);
    app.setViewAtBottom('c-jerry', true);
    await tick();
    expect(calls('mark_read').slice(-1)[0]?.args).toEqual({ conversationId: 'c-jerry', seq: news.seq });
  });
});

describe('messageUpdated events', () => {
  it('for a message not loaded: nothing is added', async () => {
    const { app, control } = await setup(120);
    await app.select('c-jerry');
    const before = thread(app).map((m) => m.clientId);
    expect(bySeq(app, 3)).toBeUndefined();
    control.edit('c-jerry', 3, 'far up');
    control.recall('c-jerry', 4);
    await Promise.resolve();
    expect(thread(app).map((m) => m.clientId)).toEqual(before);
    // Loaded later: as it is now.
    await app.openMessage('c-jerry', 3);
    expect(bySeq(app, 3)!.text).toBe('far up');
    expect(bySeq(app, 4)!.recalled).toBe(true);
  });

  it('twice, or a stale copy after it: the latest revision stays', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    const m = thread(app).filter((x) => !x.own).slice(-1)[0]!;
    const edited = control.edit('c-jerry', m.seq!, 'edited once')!;
    emit(app, { kind: 'messageUpdated', message: edited });
    emit(app, { kind: 'message', message: m }); // a copy from before (caught up late)
    expect(bySeq(app, m.seq!)!.text).toBe('edited once');
    const recalled = control.recall('c-jerry', m.seq!)!;
    emit(app, { kind: 'messageUpdated', message: edited });
    expect(bySeq(app, m.seq!)).toMatchObject({ recalled: true });
    expect(thread(app).filter((x) => x.seq === m.seq)).toHaveLength(1);
    expect(recalled.recalledByName).toBe('Jerry');
  });

  it('before the ack reached the thread (the ack came in a page): the update is the acked copy, once', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    await app.send('c-jerry', 'typo');
    const pending = control.pending()[0];
    // The ack's event is lost (as in an overflow); the update about the acked message arrives.
    const acked = { ...pending, status: 'sent' as const, seq: 99, id: 's99', editedAt: Date.now(), text: 'fixed' } satisfies UiMessage;
    emit(app, { kind: 'messageUpdated', message: acked });
    const mine = thread(app).filter((x) => x.clientId === pending.clientId);
    expect(mine).toEqual([expect.objectContaining({ seq: 99, status: 'sent', text: 'fixed' })]);
  });

  it('overtaking the answer of an edit: the later edit stays', async () => {
    const { app, control, hold, release } = await setup();
    await app.select('c-jerry');
    const mine = ownSent(app).slice(-1)[0]!;
    hold((cmd) => cmd === 'edit_message');
    app.startEdit(mine);
    app.drafts.set('c-jerry', 'from here');
    const saving = app.saveEdit('c-jerry');
    await Promise.resolve();
    control.edit('c-jerry', mine.seq!, 'from my phone, later');
    await Promise.resolve();
    await release();
    expect(await saving).toBe(true);
    expect(bySeq(app, mine.seq!)!.text).toBe('from my phone, later');
  });
});

describe('replies', () => {
  it('the message sent carries what it replies to; an incoming reply too', async () => {
    const { app, control, calls } = await setup();
    await app.select('c-jerry');
    const theirs = thread(app).filter((m) => !m.own).slice(-1)[0]!;
    app.startReply(theirs);
    const reply = app.composer('c-jerry').context;
    expect(reply).toEqual({ kind: 'reply', to: { seq: theirs.seq, fromName: 'Jerry', text: theirs.text, recalled: false } });
    await app.send('c-jerry', 'found it', theirs.seq);
    expect(calls('send_text').slice(-1)[0]!.args).toEqual({ conversationId: 'c-jerry', text: 'found it', replyTo: theirs.seq, mentions: [], mentionAll: false });
    const sent = thread(app).slice(-1)[0]!;
    expect(sent.replyTo).toEqual({ seq: theirs.seq, fromName: 'Jerry', text: theirs.text, recalled: false });
    const answer = control.incoming('c-jerry', 'u-jerry', 'no you did not', 2);
    await Promise.resolve();
    expect(thread(app).find((m) => m.clientId === answer.clientId)!.replyTo).toMatchObject({ seq: 2, fromName: expect.any(String) });
  });

  it('a click on a quote far up: older pages are loaded until the original is there, then it is the jump target', async () => {
    const { app, control, calls } = await setup(1000);
    await app.select('c-jerry');
    const reply = control.incoming('c-jerry', 'u-jerry', 'remember this?', 5);
    await Promise.resolve();
    const shown = thread(app).find((m) => m.clientId === reply.clientId)!;
    expect(bySeq(app, 5)).toBeUndefined();
    expect(await app.openOriginal(shown)).toBe(true);
    expect(app.jumpTarget).toMatchObject({ conversationId: 'c-jerry', seq: 5, clientId: bySeq(app, 5)!.clientId });
    expect(calls('load_messages').length).toBeGreaterThan(2);
    // Every message from 1 up, once.
    const seqs = thread(app).map((m) => m.seq);
    expect(seqs.slice(0, 5)).toEqual([1, 2, 3, 4, 5]);
    expect(new Set(seqs).size).toBe(seqs.length);
  });

  it('a quote of a message deleted here: “could not be found”, no pages', async () => {
    const { app, control, calls } = await setup();
    await app.select('c-jerry');
    const original = thread(app).slice(-2)[0]!;
    const reply = control.incoming('c-jerry', 'u-jerry', 'see above', original.seq);
    await Promise.resolve();
    await app.deleteForMe(original);
    const pages = calls('load_messages').length;
    expect(await app.openOriginal(thread(app).find((m) => m.clientId === reply.clientId)!)).toBe(false);
    expect(app.toasts.map((x) => x.text)).toEqual([t('search.notReached')]);
    expect(calls('load_messages')).toHaveLength(pages);
  });
});
