// Reactions and mentions through the real stores against the mock backend: a reaction shown at
// once and then as the backend says, whatever order the answer and the `messageUpdated` events
// come in (an answer overtaken by a newer event is not applied; an event twice changes nothing);
// a refusal takes the reaction shown back; reactions of a message in an older page on its way;
// an edit's answer does not take back a reaction made after it. Mentions: what send_text gets,
// the list's unread mentions rising with messages that mention the user and gone once read.
import { afterEach, describe, expect, it } from 'vitest';
import * as api from '../api';
import { type MockBackend } from '../mock';
import { type App } from '../store.svelte';

import { bySeq, disposeApps, emit, ownSent, setup, thread } from './scriptedApp';

afterEach(disposeApps);

const reactionsOf = (app: App, seq: number) => bySeq(app, seq)!.reactions;
const backendReactions = (control: MockBackend['control'], id: string, seq: number) =>
  control.messages(id).find((m) => m.seq === seq)!.reactions;

describe('reactions', () => {
  it('shown at once (the user’s name, last), then as the backend answers; a second toggle takes it back', async () => {
    const { app, control, hold, release } = await setup();
    await app.select('c-jerry');
    const m = thread(app).filter((x) => !x.own).slice(-1)[0]!;
    control.react('c-jerry', m.seq!, 'u-jerry', '👍', true);
    await Promise.resolve();
    hold((cmd) => cmd === 'react');
    const done = app.react(m, '👍');
    expect(reactionsOf(app, m.seq!)).toEqual([{ emoji: '👍', count: 2, mine: true, names: ['Jerry', 'Tom'] }]);
    await release();
    expect(await done).toBe(true);
    expect(reactionsOf(app, m.seq!)).toEqual(backendReactions(control, 'c-jerry', m.seq!));
    await app.react(m, '👍');
    expect(reactionsOf(app, m.seq!)).toEqual([{ emoji: '👍', count: 1, mine: false, names: ['Jerry'] }]);
    expect(backendReactions(control, 'c-jerry', m.seq!)).toEqual(reactionsOf(app, m.seq!));
  });

  it('an answer overtaken by a newer event (someone reacted after): the event’s reactions stay', async () => {
    const { app, control, hold, release } = await setup();
    await app.select('c-jerry');
    const m = thread(app).filter((x) => !x.own).slice(-1)[0]!;
    hold((cmd) => cmd === 'react');
    const done = app.react(m, '❤️');
    await Promise.resolve();
    // (The answer was made; the events of it and of Jerry's reaction come before it.)
    control.react('c-jerry', m.seq!, 'u-jerry', '😂', true);
    await Promise.resolve();
    await release();
    expect(await done).toBe(true);
    expect(reactionsOf(app, m.seq!).map((r) => r.emoji)).toEqual(['❤️', '😂']);
    expect(reactionsOf(app, m.seq!)).toEqual(backendReactions(control, 'c-jerry', m.seq!));
  });

  it('the answer before the events, and each event twice: the same end', async () => {
    const { app, control, hold, release, holdEvents, releaseEvents } = await setup();
    await app.select('c-jerry');
    const m = thread(app).filter((x) => !x.own).slice(-1)[0]!;
    holdEvents();
    const done = app.react(m, '🎉');
    expect(await done).toBe(true);
    expect(reactionsOf(app, m.seq!)).toEqual([{ emoji: '🎉', count: 1, mine: true, names: ['Tom'] }]);
    control.react('c-jerry', m.seq!, 'u-jerry', '🎉', true);
    await releaseEvents();
    const last = backendReactions(control, 'c-jerry', m.seq!);
    expect(reactionsOf(app, m.seq!)).toEqual(last);
    const copy = control.messages('c-jerry').find((x) => x.seq === m.seq)!;
    emit(app, { kind: 'messageUpdated', message: copy });
    emit(app, { kind: 'messageUpdated', message: copy });
    expect(reactionsOf(app, m.seq!)).toEqual(last);
    expect(thread(app).filter((x) => x.seq === m.seq)).toHaveLength(1);
    hold(() => false);
    await release();
  });

  it('refused: a toast, and the reaction shown goes back', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    const m = thread(app).filter((x) => !x.own).slice(-1)[0]!;
    control.setOnline(false);
    await Promise.resolve();
    expect(await app.react(m, '👍')).toBe(false);
    expect(reactionsOf(app, m.seq!)).toEqual([]);
    expect(app.toasts.length).toBeGreaterThan(0);
  });

  it('twenty different emoji at most (too_many_reactions); a recalled message takes none (not_editable)', async () => {
    const { mock, control } = await setup();
    const m = control.messages('c-jerry').filter((x) => !x.own).slice(-1)[0]!;
    const emoji = [...'😀😁😂🤣😃😄😅😆😉😊😋😎😍😘🥰😗😙😚🙂🤗'];
    for (const e of emoji) expect(control.react('c-jerry', m.seq!, 'u-jerry', e, true)).not.toBeNull();
    const code = (args: Record<string, unknown>) =>
      mock.invoke('react', { conversationId: 'c-jerry', seq: m.seq, ...args }).then(
        () => 'ok',
        (e: api.AppError) => e.code,
      );
    expect(await code({ emoji: '🤩', on: true })).toBe('too_many_reactions');
    expect(await code({ emoji: '😀', on: true })).toBe('ok'); // (one of those there)
    expect(await code({ emoji: 'ok', on: true })).toBe('invalid_params');
    expect(await code({ emoji: '👍👍', on: true })).toBe('invalid_params');
    expect(await code({ emoji: '👍', on: 'yes' })).toBe('invalid_params');
    expect(await code({ seq: 9999, emoji: '👍', on: true })).toBe('message_not_found');
    control.recall('c-jerry', m.seq!);
    expect(control.messages('c-jerry').find((x) => x.seq === m.seq)!.reactions).toEqual([]);
    expect(await code({ emoji: '👍', on: true })).toBe('not_editable');
  });

  it('a reaction on a message of an older page on its way (not loaded yet) is in it once the page is in', async () => {
    const { app, control, hold, release } = await setup(80);
    await app.select('c-jerry');
    const oldest = thread(app)[0]!.seq!;
    hold((cmd, args) => cmd === 'load_messages' && args.beforeSeq !== null);
    const older = app.loadOlder(app.currentThread!);
    await Promise.resolve();
    control.react('c-jerry', oldest - 1, 'u-jerry', '🙏', true);
    await Promise.resolve();
    await release();
    expect(await older).toBe(true);
    expect(reactionsOf(app, oldest - 1)).toEqual([{ emoji: '🙏', count: 1, mine: false, names: ['Jerry'] }]);
  });

  it('the answer of an edit does not take back a reaction made after the edit', async () => {
    const { app, control, hold, release } = await setup();
    await app.select('c-jerry');
    const mine = ownSent(app).slice(-1)[0]!;
    hold((cmd) => cmd === 'edit_message');
    app.startEdit(mine);
    app.drafts.set('c-jerry', 'edited');
    const saving = app.saveEdit('c-jerry');
    await Promise.resolve();
    control.react('c-jerry', mine.seq!, 'u-jerry', '👌', true);
    await Promise.resolve();
    await release();
    expect(await saving).toBe(true);
    expect(bySeq(app, mine.seq!)).toMatchObject({ text: 'edited', reactions: [{ emoji: '👌', count: 1, mine: false, names: ['Jerry'] }] });
  });
});

describe('mentions', () => {
  it('send_text gets the uids and @all (always both); the mock refuses what the backend refuses', async () => {
    const { app, mock, calls } = await setup();
    await app.select('c-group');
    await app.send('c-group', '@Jerry @all hi', null, { mentions: ['u-jerry'], mentionAll: true });
    expect(calls('send_text').slice(-1)[0]!.args).toEqual({
      conversationId: 'c-group',
      text: '@Jerry @all hi',
      replyTo: null,
      mentions: ['u-jerry'],
      mentionAll: true,
    });
    await app.send('c-group', 'plain');
    expect(calls('send_text').slice(-1)[0]!.args).toMatchObject({ mentions: [], mentionAll: false });
    const code = (args: Record<string, unknown>) =>
      mock.invoke('send_text', { conversationId: 'c-group', text: 'x', ...args }).then(
        () => 'ok',
        (e: api.AppError) => e.code,
      );
    expect(await code({ mentions: ['u-tyke'] })).toBe('invalid_params'); // not a member
    expect(await code({ conversationId: 'c-spike', mentions: ['u-spike'] })).toBe('invalid_params'); // not a group
    mock.control.setManager('c-group', 'u-jerry');
    expect(await code({ mentionAll: true })).toBe('not_manager');
    expect(await code({ mentions: ['u-spike'] })).toBe('ok');
  });

  it('unread mentions rise with messages that mention the user (by uid or @all), not with others; reading clears them', async () => {
    const { app, control } = await setup();
    await app.select('c-jerry');
    const group = () => app.conversations.find((c) => c.id === 'c-group')!;
    expect(group().unreadMentions).toBe(0);
    const first = control.incoming('c-group', 'u-jerry', '@Tom look', null, { mentions: ['u-tom'] });
    expect(first.mentionsMe).toBe(true);
    await Promise.resolve();
    expect(group().unreadMentions).toBe(1);
    control.incoming('c-group', 'u-spike', '@Jerry look', null, { mentions: ['u-jerry'] });
    control.incoming('c-group', 'u-spike', '@all look', null, { mentionAll: true });
    await Promise.resolve();
    expect(group().unreadMentions).toBe(2);
    // A recalled mention no longer counts.
    control.recall('c-group', first.seq!);
    await Promise.resolve();
    expect(group().unreadMentions).toBe(1);
    await app.select('c-group');
    expect(group().unreadMentions).toBe(0);
    expect(control.items().find((c) => c.id === 'c-group')!.unreadMentions).toBe(0);
  });
});
