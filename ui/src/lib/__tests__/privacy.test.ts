// Blocking and muting, the pure parts: the blocked list's merging, the sentences (who added you,
// why a message was not sent), and moving through a menu with the keyboard.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { UserInfo } from '../api';
import { menuKeyTarget } from '../dialog';
import { createTranslator } from '../i18n';
import {
  addedToGroupText,
  applyBlock,
  failureReason,
  isOfflineError,
  mergeBlocked,
  peerHandle,
  personLabel,
  type BlockJournal,
} from '../privacy';

const en = createTranslator('en');
const zh = createTranslator('zh-CN');
const jerry: UserInfo = { uid: 'u-jerry', username: 'jerry', displayName: 'Jerry' };
const spike: UserInfo = { uid: 'u-spike', username: 'spike', displayName: 'Spike' };
const tyke: UserInfo = { uid: 'u-tyke', username: 'tyke', displayName: 'Tyke' };
const uids = (list: readonly UserInfo[]) => list.map((u) => u.uid);

describe('applyBlock', () => {
  it('puts a newly blocked person first (most recently blocked first)', () => {
    expect(uids(applyBlock([jerry], 'u-spike', true, spike))).toEqual(['u-spike', 'u-jerry']);
  });

  it('blocking again moves them to the front, once', () => {
    expect(uids(applyBlock([jerry, spike], 'u-spike', true, spike))).toEqual(['u-spike', 'u-jerry']);
    const same = [spike, jerry];
    expect(applyBlock(same, 'u-spike', true)).toBe(same); // already first, names kept: no change
  });

  it('unblocking takes them out; unblocking someone not blocked changes nothing', () => {
    const list = [spike, jerry];
    expect(uids(applyBlock(list, 'u-spike', false))).toEqual(['u-jerry']);
    expect(applyBlock(list, 'u-tyke', false)).toBe(list);
  });

  it('without names, keeps the ones held, or names nobody until the next load', () => {
    expect(applyBlock([jerry, spike], 'u-spike', true)[0]).toEqual(spike);
    expect(applyBlock([jerry], 'u-x', true, null)[0]).toEqual({ uid: 'u-x', username: '', displayName: '' });
    // An empty name does not replace a known one.
    expect(applyBlock([spike], 'u-spike', true, { uid: 'u-spike', username: '', displayName: '' })[0]).toEqual(spike);
  });
});

describe('mergeBlocked', () => {
  it('keeps the fetched order and drops duplicates', () => {
    expect(uids(mergeBlocked([spike, jerry, spike]))).toEqual(['u-spike', 'u-jerry']);
  });

  it('applies what happened during the fetch on top, in order', () => {
    const journal: BlockJournal = new Map([
      ['u-jerry', { blocked: false }],
      ['u-tyke', { blocked: true, user: tyke }],
    ]);
    expect(mergeBlocked([spike, jerry], journal)).toEqual([tyke, spike]);
  });

  it('equals applying the same changes one by one to the fetched list (property)', () => {
    const people = [jerry, spike, tyke];
    const change = fc.record({ who: fc.nat(2), blocked: fc.boolean() });
    fc.assert(
      fc.property(fc.subarray(people), fc.array(change, { maxLength: 8 }), (fetched, changes) => {
        const journal: BlockJournal = new Map();
        let expected = [...fetched];
        for (const c of changes) {
          const u = people[c.who];
          journal.delete(u.uid);
          journal.set(u.uid, { blocked: c.blocked, user: u });
          expected = applyBlock(expected, u.uid, c.blocked, u);
        }
        // The journal keeps each person's last change, in the order of those: the same list.
        expect(uids(mergeBlocked(fetched, journal))).toEqual(uids(expected));
      }),
    );
  });
});

describe('names', () => {
  it('personLabel: "Name (@username)", or whichever is known', () => {
    expect(personLabel(jerry)).toBe('Jerry (@jerry)');
    expect(personLabel({ username: '', displayName: 'Jerry' })).toBe('Jerry');
    expect(personLabel({ username: 'jerry', displayName: ' ' })).toBe('@jerry');
    expect(personLabel({ username: '', displayName: '' })).toBe('');
  });

  it('peerHandle: the @username first, else the name, else "Unknown user"', () => {
    expect(peerHandle(jerry, en)).toBe('@jerry');
    expect(peerHandle({ username: '', displayName: 'Jerry' }, en)).toBe('Jerry');
    expect(peerHandle(null, en)).toBe('Unknown user');
  });
});

describe('addedToGroupText', () => {
  it('names who added the user with their @username, and the group', () => {
    expect(addedToGroupText({ title: 'Club', by: { uid: 'u-tom', username: 'tom', displayName: 'Tom' } }, en)).toBe(
      'Tom (@tom) added you to “Club”',
    );
    expect(addedToGroupText({ title: 'Club', by: { uid: 'u-tom', username: 'tom', displayName: 'Tom' } }, zh)).toBe(
      'Tom (@tom) 把你加入了“Club”',
    );
  });

  it('an untitled group is "a group"; an unknown username leaves just the name', () => {
    expect(addedToGroupText({ title: '  ', by: { uid: 'u-tom', username: '', displayName: 'Tom' } }, en)).toBe(
      'Tom added you to a group',
    );
  });

  it('takes names and titles as text: placeholders in them stay as typed', () => {
    expect(addedToGroupText({ title: '{who}', by: { uid: 'u', username: 'x', displayName: '{title}' } }, en)).toBe(
      '{title} (@x) added you to “{who}”',
    );
  });
});

describe('failureReason', () => {
  const blocked = { code: 'blocked', message: 'one of you has blocked the other' };

  it('a blocked 1:1 message names the peer: not accepting, or blocked by the user', () => {
    expect(failureReason(blocked, { peer: jerry, blockedByMe: false }, en, 'en')).toBe('@jerry isn’t accepting your messages.');
    expect(failureReason(blocked, { peer: jerry, blockedByMe: true }, en, 'en')).toBe('Not sent: you blocked @jerry.');
    expect(failureReason(blocked, { peer: jerry, blockedByMe: false }, zh, 'zh-CN')).toBe('@jerry 不接收你的消息。');
  });

  it('other errors (and `blocked` without a peer) are the error text', () => {
    const internal = { code: 'internal', message: 'the server did not answer in time' };
    expect(failureReason(internal, { peer: jerry, blockedByMe: false }, en, 'en')).toBe('Something went wrong on the server. Try again.');
    expect(failureReason(blocked, { peer: null, blockedByMe: false }, en, 'en')).toBe('One of you has blocked the other.');
    expect(failureReason(blocked, { peer: null, blockedByMe: false }, zh, 'zh-CN')).toBe('你们中有一方屏蔽了另一方。');
  });
});

describe('isOfflineError', () => {
  it('is true only for the want of a connection', () => {
    for (const code of ['offline', 'disconnected', 'timeout']) expect(isOfflineError({ code, message: '' })).toBe(true);
    for (const code of ['internal', 'blocked', 'rate_limited']) expect(isOfflineError({ code, message: '' })).toBe(false);
  });
});

describe('menuKeyTarget', () => {
  it('↓ and ↑ wrap around, Home and End jump, other keys are not the menu’s', () => {
    expect(menuKeyTarget('ArrowDown', 0, 3)).toBe(1);
    expect(menuKeyTarget('ArrowDown', 2, 3)).toBe(0);
    expect(menuKeyTarget('ArrowUp', 0, 3)).toBe(2);
    expect(menuKeyTarget('ArrowUp', -1, 3)).toBe(2);
    expect(menuKeyTarget('ArrowDown', -1, 3)).toBe(0);
    expect(menuKeyTarget('Home', 2, 3)).toBe(0);
    expect(menuKeyTarget('End', 0, 3)).toBe(2);
    expect(menuKeyTarget('a', 0, 3)).toBeNull();
    expect(menuKeyTarget('ArrowDown', 0, 0)).toBeNull();
  });
});
