// @vitest-environment happy-dom
// The "Group info" dialog on screen, against the mock backend (its real commands and events):
// opened from the chat menu; what the manager and a member see; renaming, the remark, adding
// several people (one unknown: the error says so, and who was or was not added), removing after a
// confirmation, following changes made elsewhere, leaving; and axe.
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import * as api from '../../lib/api';
import type { AppError, ImEvent } from '../../lib/api';
import { createMockBackend, type MockBackend } from '../../lib/mock';
import { expectNoAxeViolations } from '../../test/axe';
import { byId, key, render, settle, showMain, stubResizeObserver, type, unmountAll } from './dom';

let mock: MockBackend;
let handler: ((e: ImEvent) => void) | null = null;
let calls: { cmd: string; args: Record<string, unknown> }[] = [];
/** Replaces a command of the mock for a test. */
let override: ((cmd: string, args: Record<string, unknown>) => Promise<unknown> | undefined) | null = null;

api.useBackend({
  invoke: <T,>(cmd: string, args: Record<string, unknown> = {}) => {
    calls.push({ cmd, args });
    return (override?.(cmd, args) ?? mock.invoke<T>(cmd, args)) as Promise<T>;
  },
  listen: async (h) => {
    handler = h;
    return () => (handler = null);
  },
});

const { app } = await import('../../lib/store.svelte');
const MainScreen = (await import('../MainScreen.svelte')).default;

function newMock(): MockBackend {
  let clock = 1_700_000_000_000;
  return createMockBackend({ scripted: true, latencyMs: null, storage: null, quiet: true, history: 5, now: () => (clock += 1000), deliver: (fire) => fire() });
}

beforeAll(async () => {
  mock = newMock();
  await app.boot();
});

beforeEach(async () => {
  mock = newMock();
  await mock.invoke('sign_in', { serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', password: 'secret123' });
  await mock.listen((e) => handler?.(e));
  stubResizeObserver(['conversation-list', 'message-list']);
  showMain(app, mock.control.items());
  app.closeGroupInfo();
  app.leaveRequest = null;
  calls = [];
  override = null;
});
afterEach(() => {
  unmountAll();
  app.closeGroupInfo();
  for (const t of app.toasts) app.dismissToast(t.id);
  vi.unstubAllGlobals();
});

const dialog = () => byId(document, 'group-info-dialog');
const rows = () => [...document.querySelectorAll<HTMLElement>('[data-testid="group-member"]')];
const uids = () => rows().map((r) => r.dataset.uid);
const row = (uid: string) => rows().find((r) => r.dataset.uid === uid)!;
const input = (id: string) => byId(document, id) as HTMLInputElement;
const text = (id: string) => byId(document, id)?.textContent?.trim() ?? '';
const sent = (cmd: string) => calls.filter((c) => c.cmd === cmd);

/** The app on the main screen with this group open, its info opened from the chat menu. */
async function openInfo(conversationId = 'c-group'): Promise<HTMLElement> {
  showMain(app, mock.control.items());
  app.selectedId = conversationId;
  const el = render(MainScreen, {});
  await settle();
  byId(el, 'chat-menu')!.click();
  flushSync();
  await settle();
  byId(el, 'group-info-open')!.click();
  await settle();
  return el;
}

describe('opening it', () => {
  it('is in the chat menu of a group (not of a 1:1 chat), and opens with the close button focused', async () => {
    await openInfo();
    expect(dialog()).not.toBeNull();
    expect(dialog()!.getAttribute('aria-modal')).toBe('true');
    expect(document.getElementById(dialog()!.getAttribute('aria-labelledby')!)?.textContent).toBe('Group info');
    expect(document.activeElement).toBe(byId(document, 'group-info-close'));
    expect(text('group-info-heading')).toBe('Cat & Mouse Club');
    key(dialog()!, 'Escape');
    expect(dialog()).toBeNull();
    expect(app.groupInfo).toBeNull();

    unmountAll();
    app.selectedId = 'c-jerry';
    const el = render(MainScreen, {});
    await settle();
    byId(el, 'chat-menu')!.click();
    flushSync();
    expect(byId(el, 'group-info-open')).toBeNull();
    expect(byId(el, 'mute-toggle')).not.toBeNull();
  });
});

describe('what the manager and a member see', () => {
  it('the manager: everyone, the manager (me) first, then by name; Remove for the others; Add members', async () => {
    await openInfo();
    expect(uids()).toEqual(['u-tom', 'u-jerry', 'u-spike']);
    const me = row('u-tom');
    expect(me.querySelector('[data-testid="group-member-name"]')?.textContent).toBe('Tom');
    expect(me.querySelector('[data-testid="group-member-username"]')?.textContent).toBe('@tom');
    expect(me.querySelector('[data-testid="group-member-manager"]')?.textContent).toBe('Manager');
    expect(me.querySelector('[data-testid="group-member-you"]')?.textContent).toBe('You');
    expect(me.querySelector('[data-testid="group-member-remove"]')).toBeNull();
    expect(row('u-jerry').querySelector('[data-testid="group-member-manager"]')).toBeNull();
    expect(row('u-jerry').querySelector('[data-testid="group-member-remove"]')?.getAttribute('aria-label')).toBe('Remove Jerry (@jerry) from the group');
    expect(byId(document, 'group-add-input')).not.toBeNull();
    expect(byId(document, 'group-only-manager')).toBeNull();
    expect(document.getElementById('group-members-heading')?.textContent).toBe('Members (3)');
  });

  it('a member: the manager first, then me, then by name; no Remove, no Add; the title still editable', async () => {
    const group = mock.control.addToGroup('u-tyke', 'Puppy Playdate')!;
    await openInfo(group.id);
    expect(uids()).toEqual(['u-tyke', 'u-tom', 'u-jerry']);
    expect(row('u-tyke').querySelector('[data-testid="group-member-manager"]')).not.toBeNull();
    expect(row('u-tom').querySelector('[data-testid="group-member-you"]')).not.toBeNull();
    expect(document.querySelector('[data-testid="group-member-remove"]')).toBeNull();
    expect(byId(document, 'group-add-input')).toBeNull();
    expect(text('group-only-manager')).toBe('Only the group’s manager can add or remove members.');
    type(input('group-title-input'), 'Puppies');
    byId(document, 'group-title-save')!.click();
    await settle();
    expect(mock.control.items().find((c) => c.id === group.id)?.title).toBe('Puppies');
  });
});

describe('the title and the remark', () => {
  it('Save renames (the list and the chat follow); Cancel puts the stored title back', async () => {
    await openInfo();
    const title = input('group-title-input');
    expect(title.value).toBe('Cat & Mouse Club');
    expect((byId(document, 'group-title-save') as HTMLButtonElement).disabled).toBe(true); // nothing changed
    type(title, 'Mice only');
    byId(document, 'group-title-cancel')!.click();
    flushSync();
    expect(input('group-title-input').value).toBe('Cat & Mouse Club');

    type(input('group-title-input'), '  The Club  ');
    byId(document, 'group-title-save')!.click();
    await settle();
    expect(sent('update_conversation').map((c) => c.args)).toEqual([{ conversationId: 'c-group', title: 'The Club' }]);
    expect(input('group-title-input').value).toBe('The Club');
    expect(text('group-info-heading')).toBe('The Club');
    expect(text('group-title-status')).toBe('Saved.');
    expect(app.conversations.find((c) => c.id === 'c-group')?.displayTitle).toBe('The Club');
  });

  it('an empty title is allowed: the members’ names are shown', async () => {
    await openInfo();
    type(input('group-title-input'), '');
    byId(document, 'group-title-save')!.click();
    await settle();
    expect(mock.control.items().find((c) => c.id === 'c-group')?.title).toBe('');
    expect(text('group-info-heading')).toBe('Tom, Jerry, Spike');
    expect(input('group-title-input').placeholder).toBe('No name: the members’ names are shown');
  });

  it('too long (over 128 characters, counted as code points) is refused before sending', async () => {
    await openInfo();
    type(input('group-title-input'), '猫'.repeat(128) + '🐭');
    byId(document, 'group-title-save')!.click();
    await settle();
    expect(sent('update_conversation')).toEqual([]);
    expect(text('group-title-error')).toBe('That is 129 characters; at most 128 are allowed.');
    expect(input('group-title-input').getAttribute('aria-invalid')).toBe('true');
    // 128 code points (one of them outside the BMP) are fine.
    type(input('group-title-input'), '猫'.repeat(127) + '🐭');
    byId(document, 'group-title-save')!.click();
    await settle();
    expect(sent('update_conversation')).toHaveLength(1);
    expect(byId(document, 'group-title-error')!.hidden).toBe(true);
  });

  it('the remark: saved by any member, at most 256 characters; a refusal is shown', async () => {
    await openInfo();
    const remark = input('group-remark-input');
    expect(remark.value).toBe('');
    type(remark, 'x'.repeat(257));
    byId(document, 'group-remark-save')!.click();
    await settle();
    expect(text('group-remark-error')).toBe('That is 257 characters; at most 256 are allowed.');
    expect(sent('update_conversation')).toEqual([]);
    type(input('group-remark-input'), 'Cheese every Friday');
    byId(document, 'group-remark-save')!.click();
    await settle();
    expect(sent('update_conversation').map((c) => c.args)).toEqual([{ conversationId: 'c-group', remark: 'Cheese every Friday' }]);
    expect(mock.control.items().find((c) => c.id === 'c-group')?.remark).toBe('Cheese every Friday');
    expect(text('group-remark-status')).toBe('Saved.');

    mock.control.setOnline(false);
    type(input('group-remark-input'), 'offline');
    byId(document, 'group-remark-save')!.click();
    await settle();
    expect(text('group-remark-error')).toBe('You are offline. Try again once you are connected.');
    expect(input('group-remark-input').value).toBe('offline'); // kept, to try again
  });
});

describe('adding members', () => {
  it('several at once; one unknown username: the error names it, nobody was added, the usernames stay', async () => {
    await openInfo();
    type(input('group-add-input'), 'tyke, @nobody  jerry_official');
    byId(document, 'group-add-submit')!.click();
    await settle();
    expect(sent('add_members').map((c) => c.args)).toEqual([{ conversationId: 'c-group', usernames: ['tyke', 'nobody', 'jerry_official'] }]);
    expect(text('group-add-error')).toBe('No user named “nobody”. Nobody was added.');
    expect(uids()).toEqual(['u-tom', 'u-jerry', 'u-spike']);
    expect(input('group-add-input').value).toBe('tyke nobody jerry_official');
    expect(document.activeElement).toBe(input('group-add-input'));

    type(input('group-add-input'), 'tyke jerry_official spike');
    byId(document, 'group-add-submit')!.click();
    await settle();
    expect(byId(document, 'group-add-error')!.hidden).toBe(true);
    expect(text('group-add-result')).toBe('Added @tyke, @jerry_official. Already in the group: @spike.');
    expect(new Set(uids())).toEqual(new Set(['u-tom', 'u-jerry', 'u-spike', 'u-tyke', 'u-jerry2']));
    expect(uids()[0]).toBe('u-tom');
    expect(input('group-add-input').value).toBe('');
    expect(mock.control.members('c-group').map((m) => m.uid)).toEqual(['u-tom', 'u-jerry', 'u-spike', 'u-tyke', 'u-jerry2']);
  });

  it('a backend that added some before failing: the dialog says who was added and who was not', async () => {
    override = (cmd, args) => {
      if (cmd !== 'add_members') return undefined;
      mock.control.membersElsewhere(String(args.conversationId), { add: ['u-tyke'] });
      const refusal: AppError = { code: 'user_not_found', message: 'no user named "nobody"' };
      return Promise.reject(refusal);
    };
    await openInfo();
    type(input('group-add-input'), 'tyke nobody');
    byId(document, 'group-add-submit')!.click();
    await settle();
    expect(text('group-add-error')).toBe('No user named “nobody”. Added: @tyke. Not added: @nobody.');
    expect(uids()).toContain('u-tyke');
    expect(input('group-add-input').value).toBe('nobody');
  });

  it('a block, or nothing typed, is said in words', async () => {
    mock.control.blockedBy('u-tyke', true);
    await openInfo();
    byId(document, 'group-add-submit')!.click();
    await settle();
    expect(text('group-add-error')).toBe('Enter one or more usernames.');
    expect(sent('add_members')).toEqual([]);
    type(input('group-add-input'), 'tyke');
    byId(document, 'group-add-submit')!.click();
    await settle();
    expect(text('group-add-error')).toBe('Someone in the list cannot be added: one of you has blocked the other. Nobody was added.');
  });
});

describe('removing a member', () => {
  it('asks first (Cancel removes nobody), then removes', async () => {
    await openInfo();
    row('u-spike').querySelector<HTMLElement>('[data-testid="group-member-remove"]')!.click();
    flushSync();
    const confirm = byId(document, 'group-remove-dialog')!;
    expect(confirm.getAttribute('role')).toBe('alertdialog');
    expect(document.getElementById(confirm.getAttribute('aria-labelledby')!)?.textContent).toBe('Remove Spike (@spike) from the group?');
    expect(document.activeElement).toBe(byId(document, 'group-remove-dialog-cancel'));
    byId(document, 'group-remove-dialog-cancel')!.click();
    flushSync();
    expect(byId(document, 'group-remove-dialog')).toBeNull();
    expect(sent('remove_member')).toEqual([]);
    expect(dialog()).not.toBeNull(); // the group info stays

    row('u-spike').querySelector<HTMLElement>('[data-testid="group-member-remove"]')!.click();
    flushSync();
    byId(document, 'group-remove-dialog-confirm')!.click();
    await settle();
    expect(sent('remove_member').map((c) => c.args)).toEqual([{ conversationId: 'c-group', uid: 'u-spike' }]);
    expect(uids()).toEqual(['u-tom', 'u-jerry']);
    expect(text('group-members-status')).toBe('Spike was removed from the group.');
    expect(mock.control.members('c-group').map((m) => m.uid)).toEqual(['u-tom', 'u-jerry']);
    expect(dialog()!.contains(document.activeElement)).toBe(true);
  });

  it('a refusal is shown and the member stays', async () => {
    await openInfo();
    mock.control.setOnline(false);
    row('u-jerry').querySelector<HTMLElement>('[data-testid="group-member-remove"]')!.click();
    flushSync();
    byId(document, 'group-remove-dialog-confirm')!.click();
    await settle();
    expect(text('group-members-change-error')).toBe('You are offline. Try again once you are connected.');
    expect(uids()).toEqual(['u-tom', 'u-jerry', 'u-spike']);
  });
});

describe('changes made elsewhere', () => {
  it('members added or removed, a new title or remark, a new manager: the dialog follows', async () => {
    await openInfo();
    mock.control.membersElsewhere('c-group', { add: ['u-tyke'], remove: ['u-jerry'] });
    await settle();
    expect(uids()).toEqual(['u-tom', 'u-spike', 'u-tyke']);

    mock.control.updateElsewhere('c-group', { title: 'Renamed elsewhere', remark: 'A note' });
    await settle();
    expect(input('group-title-input').value).toBe('Renamed elsewhere');
    expect(input('group-remark-input').value).toBe('A note');
    // While the user types, their text stays.
    type(input('group-title-input'), 'Mine');
    mock.control.updateElsewhere('c-group', { title: 'Again elsewhere' });
    await settle();
    expect(input('group-title-input').value).toBe('Mine');
    expect(text('group-info-heading')).toBe('Again elsewhere');

    mock.control.setManager('c-group', 'u-spike');
    await settle();
    expect(uids()).toEqual(['u-spike', 'u-tom', 'u-tyke']);
    expect(document.querySelector('[data-testid="group-member-remove"]')).toBeNull();
    expect(byId(document, 'group-add-input')).toBeNull();
  });

  it('a message in the group does not ask for the members again', async () => {
    await openInfo();
    const before = sent('conversation_members').length;
    mock.control.incoming('c-group', 'u-jerry', 'hello');
    await settle();
    expect(sent('conversation_members').length).toBe(before);
  });

  it('removed from the group: the dialog closes', async () => {
    await openInfo();
    mock.control.remove('c-group');
    await settle();
    expect(dialog()).toBeNull();
    expect(app.groupInfo).toBeNull();
  });
});

describe('leaving', () => {
  it('Leave group closes the info and asks, as the chat menu does', async () => {
    await openInfo();
    byId(document, 'group-leave')!.click();
    await settle();
    expect(dialog()).toBeNull();
    expect(byId(document, 'leave-group-dialog')).not.toBeNull();
    byId(document, 'leave-group-dialog-confirm')!.click();
    await settle();
    expect(sent('leave_conversation').map((c) => c.args)).toEqual([{ conversationId: 'c-group' }]);
  });
});

describe('accessibility', () => {
  it('axe finds nothing in the manager’s view (with an error and a result shown) and the member’s', async () => {
    await openInfo();
    type(input('group-add-input'), 'tyke nobody');
    byId(document, 'group-add-submit')!.click();
    await settle();
    type(input('group-title-input'), 'x'.repeat(200));
    byId(document, 'group-title-save')!.click();
    await settle();
    await expectNoAxeViolations(dialog()!);
    row('u-spike').querySelector<HTMLElement>('[data-testid="group-member-remove"]')!.click();
    flushSync();
    await expectNoAxeViolations(byId(document, 'group-remove-dialog')!);
    unmountAll();
    app.closeGroupInfo();

    const group = mock.control.addToGroup('u-tyke', '小狗聚会')!;
    await openInfo(group.id);
    await expectNoAxeViolations(dialog()!);
  });
});
