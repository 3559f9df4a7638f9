// The rules of the "Group info" dialog (member order, usernames typed, length limits, what a
// failed add says) and the mock backend's group commands (conversation_members,
// update_conversation, add_members, remove_member) with the backend's errors and events.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AppError, ConversationItem, ImEvent, MemberInfo } from '../api';
import { addFailureText, addOutcome, addSuccessText, compareMembers, parseUsernames, remarkProblem, sortMembers, titleProblem, unknownUsername } from '../groupInfo';
import { createTranslator } from '../i18n';
import { createMockBackend } from '../mock';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');
const member = (uid: string, displayName: string, p: Partial<MemberInfo> = {}): MemberInfo => ({ uid, username: uid.replace('u-', ''), displayName, manager: false, me: false, ...p });

describe('the member order', () => {
  it('the manager, then me, then by name', () => {
    const list = [member('u-b', 'Bob'), member('u-me', 'Zed', { me: true }), member('u-a', 'Alice'), member('u-m', 'Mallory', { manager: true })];
    expect(sortMembers(list).map((m) => m.uid)).toEqual(['u-m', 'u-me', 'u-a', 'u-b']);
    const meManager = [member('u-b', 'Bob'), member('u-me', 'Zed', { me: true, manager: true })];
    expect(sortMembers(meManager).map((m) => m.uid)).toEqual(['u-me', 'u-b']);
  });

  it('is a total order: any shuffle sorts the same', () => {
    const arb = fc.uniqueArray(
      fc.record({ uid: fc.string({ minLength: 1, maxLength: 4 }), username: fc.constantFrom('', 'a', 'b'), displayName: fc.constantFrom('', 'Ann', 'ann', 'Bo'), manager: fc.boolean(), me: fc.boolean() }),
      { selector: (m) => m.uid, maxLength: 8 },
    );
    fc.assert(
      fc.property(arb, (list) => {
        const sorted = sortMembers(list);
        expect(sortMembers([...list].reverse())).toEqual(sorted);
        for (let i = 1; i < sorted.length; i++) expect(compareMembers(sorted[i - 1], sorted[i])).toBeLessThan(0);
      }),
    );
  });
});

describe('usernames typed into Add members', () => {
  it('split at spaces, commas (also Chinese) and semicolons; @ dropped; lower-cased; each once', () => {
    expect(parseUsernames(' Tyke, @jerry  spike;tyke，小明、@@x ')).toEqual(['tyke', 'jerry', 'spike', '小明', 'x']);
    expect(parseUsernames(' , @ ')).toEqual([]);
  });

  it('the username a user_not_found names, if it is one of those asked for', () => {
    const e: AppError = { code: 'user_not_found', message: 'no user named "nobody"' };
    expect(unknownUsername(e, ['tyke', 'nobody'])).toBe('nobody');
    expect(unknownUsername(e, ['tyke'])).toBeNull();
    expect(unknownUsername({ code: 'blocked', message: '"tyke"' }, ['tyke'])).toBeNull();
  });

  it('who was added, who was not; the sentences in both languages', () => {
    const before = [member('u-tom', 'Tom')];
    const after = [member('u-tom', 'Tom'), member('u-tyke', 'Tyke')];
    const outcome = addOutcome(['tyke', 'nobody'], before, after);
    expect(outcome).toEqual({ added: ['tyke'], notAdded: ['nobody'] });
    expect(addFailureText('No user named “nobody”.', outcome, en)).toBe('No user named “nobody”. Added: @tyke. Not added: @nobody.');
    expect(addFailureText('找不到。', { added: [], notAdded: ['a', 'b'] }, zh)).toBe('找不到。没有添加任何人。');
    expect(addSuccessText({ added: ['a', 'b'], notAdded: [] }, ['c'], zh)).toBe('已添加 @a、@b。已在群里：@c。');
  });

  it('the limits count code points: 128 for a title, 256 for a remark; empty is fine', () => {
    expect(titleProblem('')).toBeNull();
    expect(titleProblem('🐭'.repeat(128))).toBeNull();
    expect(titleProblem('🐭'.repeat(129))).toEqual({ max: 128, length: 129 });
    expect(remarkProblem('猫'.repeat(256))).toBeNull();
    expect(remarkProblem('猫'.repeat(257))).toEqual({ max: 256, length: 257 });
  });
});

function setup() {
  let clock = 1_700_000_000_000;
  const m = createMockBackend({ scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, now: () => (clock += 1000), deliver: (f) => f() });
  const events: ImEvent[] = [];
  void m.listen((e) => events.push(e));
  const updates = () => events.filter((e): e is Extract<ImEvent, { kind: 'conversation' }> => e.kind === 'conversation').map((e) => e.conversation);
  return { m, events, updates };
}
const signIn = (m: ReturnType<typeof setup>['m']) => m.invoke('sign_in', { serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', password: 'secret123' });
const refusal = async (p: Promise<unknown>): Promise<AppError> => {
  try {
    await p;
  } catch (e) {
    return e as AppError;
  }
  throw new Error('it did not fail');
};

describe("the mock's group commands", () => {
  it('conversation_members: the members in the order they joined, the manager and me marked', async () => {
    const { m } = setup();
    await signIn(m);
    expect(await m.invoke('conversation_members', { conversationId: 'c-group' })).toEqual([
      { uid: 'u-tom', username: 'tom', displayName: 'Tom', manager: true, me: true },
      { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry', manager: false, me: false },
      { uid: 'u-spike', username: 'spike', displayName: 'Spike', manager: false, me: false },
    ]);
    expect((await refusal(m.invoke('conversation_members', { conversationId: 'c-nope' }))).code).toBe('conversation_not_found');
  });

  it('update_conversation: title and/or remark (a field left out stays), any member; too long refused; an event', async () => {
    const { m, updates } = setup();
    await signIn(m);
    const tyke = m.control.addToGroup('u-tyke', 'Puppies')!; // not mine to manage
    const before = updates().length;
    const item = await m.invoke<ConversationItem>('update_conversation', { conversationId: tyke.id, remark: 'bones' });
    expect(item).toMatchObject({ title: 'Puppies', remark: 'bones' });
    expect(updates().slice(before)).toEqual([item]);
    expect(await m.invoke('update_conversation', { conversationId: 'c-group', title: '' })).toMatchObject({ title: '', displayTitle: 'Tom, Jerry, Spike', remark: '' });
    const tooLong = await refusal(m.invoke('update_conversation', { conversationId: 'c-group', title: '🐭'.repeat(129), remark: 'ok' }));
    expect(tooLong.code).toBe('field_too_long');
    expect((await refusal(m.invoke('update_conversation', { conversationId: 'c-group', remark: 'x'.repeat(257) }))).code).toBe('field_too_long');
    expect(m.control.items().find((c) => c.id === 'c-group')).toMatchObject({ title: '', remark: '' }); // all or nothing
    expect((await refusal(m.invoke('update_conversation', { conversationId: 'c-nope', title: 'x' }))).code).toBe('conversation_not_found');
    m.control.setOnline(false);
    expect((await refusal(m.invoke('update_conversation', { conversationId: 'c-group', title: 'x' }))).code).toBe('offline');
  });

  it('add_members: by username, the manager only, all or nothing; members skipped; an event when someone is new', async () => {
    const { m, updates } = setup();
    await signIn(m);
    const unknown = await refusal(m.invoke('add_members', { conversationId: 'c-group', usernames: ['tyke', 'Nobody'] }));
    expect(unknown).toEqual({ code: 'user_not_found', message: 'no user named "nobody"' });
    expect(m.control.members('c-group')).toHaveLength(3);
    const n = updates().length;
    expect(await m.invoke('add_members', { conversationId: 'c-group', usernames: ['jerry', '@spike'] })).toMatchObject({ userIds: ['u-tom', 'u-jerry', 'u-spike'] });
    expect(updates().length, 'nobody new: no event').toBe(n);
    const item = await m.invoke<ConversationItem>('add_members', { conversationId: 'c-group', usernames: [' @Tyke ', 'jerry_official', 'jerry'] });
    expect(item.userIds).toEqual(['u-tom', 'u-jerry', 'u-spike', 'u-tyke', 'u-jerry2']);
    expect(updates().slice(n)).toEqual([item]);

    m.control.blockedBy('u-spike', true);
    m.control.membersElsewhere('c-group', { remove: ['u-spike', 'u-tyke'] });
    expect((await refusal(m.invoke('add_members', { conversationId: 'c-group', usernames: ['tyke', 'spike'] }))).code).toBe('blocked');
    expect(m.control.members('c-group').map((x) => x.uid)).toEqual(['u-tom', 'u-jerry', 'u-jerry2']);
    expect((await refusal(m.invoke('add_members', { conversationId: 'c-group', usernames: [] }))).code).toBe('invalid_params');
    expect((await refusal(m.invoke('add_members', { conversationId: 'c-jerry', usernames: ['spike'] }))).code).toBe('single_chat_members_fixed');
    const tyke = m.control.addToGroup('u-tyke', 'Puppies')!;
    expect((await refusal(m.invoke('add_members', { conversationId: tyke.id, usernames: ['spike'] }))).code).toBe('not_manager');
  });

  it('remove_member: the manager only, not oneself; a non-member changes nothing; an event', async () => {
    const { m, updates } = setup();
    await signIn(m);
    const n = updates().length;
    const item = await m.invoke<ConversationItem>('remove_member', { conversationId: 'c-group', uid: 'u-spike' });
    expect(item.userIds).toEqual(['u-tom', 'u-jerry']);
    expect(updates().slice(n)).toEqual([item]);
    expect(await m.invoke('remove_member', { conversationId: 'c-group', uid: 'u-spike' })).toMatchObject({ userIds: ['u-tom', 'u-jerry'] });
    expect(updates().length).toBe(n + 1);
    expect((await refusal(m.invoke('remove_member', { conversationId: 'c-group', uid: 'u-tom' }))).code).toBe('invalid_params');
    const tyke = m.control.addToGroup('u-tyke', 'Puppies')!;
    expect((await refusal(m.invoke('remove_member', { conversationId: tyke.id, uid: 'u-jerry' }))).code).toBe('not_manager');
    expect((await refusal(m.invoke('remove_member', { conversationId: 'c-jerry', uid: 'u-jerry' }))).code).toBe('single_chat_members_fixed');
  });
});
