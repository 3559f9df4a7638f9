// A model-based test of the "Group info" dialog's state (`GroupInfoStore`) against the mock
// backend, with fast-check choosing random interleavings of
//  - what the user does in the dialog: rename (also to '' and to too long a title), set the remark
//    (also too long), add people by username (some unknown, some members already), remove a member
//    (also one removed elsewhere meanwhile), Try again (conversation_members);
//  - what happens elsewhere: members added and removed, the title and remark changed, the manager
//    role moving (then adds and removes are refused with not_manager), messages in the group;
//  - and when answers and events arrive: every answer and every event (in their order) goes
//    through fast-check's scheduler, so an answer may arrive after later events, an older member
//    list after a newer one…
// Always: the members shown are one whole answer of the backend, sorted, each once; a command that
// failed changed nothing at the backend. Once everything has arrived: the members shown are the
// backend's members now, and the group shown (title, remark, members, manager) is the backend's.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../api';
import type { Backend, ImEvent, MemberInfo } from '../api';
import { sortMembers } from '../groupInfo';
import { createMockBackend } from '../mock';
import { GroupInfoStore } from '../stores/groupInfo.svelte';

type Action =
  | { kind: 'rename'; title: string }
  | { kind: 'remark'; remark: string }
  | { kind: 'add'; usernames: string[] }
  | { kind: 'remove'; uid: string }
  | { kind: 'load' }
  | { kind: 'elsewhereMembers'; add: string[]; remove: string[] }
  | { kind: 'elsewhereUpdate'; title?: string; remark?: string }
  | { kind: 'manager'; uid: string }
  | { kind: 'message' }
  | { kind: 'deliver'; count: number }
  | { kind: 'settle' };

const OTHERS = ['u-jerry', 'u-spike', 'u-tyke', 'u-jerry2'];
const USERNAMES = ['jerry', 'spike', 'tyke', 'jerry_official', 'tom', 'nobody', 'ghost'];
const titles = fc.constantFrom('', 'Club', '猫和老鼠', 'x'.repeat(128), 'y'.repeat(129));
const remarks = fc.constantFrom('', 'note', '备注', 'z'.repeat(257));
const other = fc.constantFrom(...OTHERS);

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('rename' as const), title: titles }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('remark' as const), remark: remarks }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('add' as const), usernames: fc.uniqueArray(fc.constantFrom(...USERNAMES), { minLength: 1, maxLength: 3 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('remove' as const), uid: other }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'load' as const }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant('elsewhereMembers' as const), add: fc.uniqueArray(other, { maxLength: 2 }), remove: fc.uniqueArray(other, { maxLength: 2 }) }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('elsewhereUpdate' as const), title: fc.option(titles, { nil: undefined }), remark: fc.option(remarks, { nil: undefined }) }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('manager' as const), uid: fc.constantFrom('u-tom', 'u-tom', ...OTHERS) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'message' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 4 }) }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 1 },
);

const microtasks = async (count = 20) => {
  for (let i = 0; i < count; i++) await Promise.resolve();
};

const GROUP = 'c-group';

async function run(s: fc.Scheduler, actions: Action[]): Promise<void> {
  let clock = 1_700_000_000_000;
  const queue: (() => void)[] = [];
  const mock = createMockBackend({
    scripted: true,
    latencyMs: null, // computed when asked: the scheduler decides when the answer arrives
    storage: null,
    quiet: true,
    history: 5,
    now: () => (clock += 1000),
    // One channel: each release delivers the oldest event, so events keep their order.
    deliver: (fire) => {
      queue.push(fire);
      void s.schedule(Promise.resolve(), 'event').then(() => queue.shift()!());
    },
  });
  await mock.invoke('sign_in', { serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', password: 'secret123' });
  const control = mock.control;
  const snapshot = () => {
    const c = control.items().find((x) => x.id === GROUP)!;
    return JSON.stringify({ title: c.title, remark: c.remark, managerId: c.managerId, members: control.members(GROUP) });
  };
  /** Every member list the backend gave (the store shows only these). */
  const answers = new Set<string>();
  const sentTooLong: string[] = [];
  const backend: Backend = {
    invoke: (cmd, args = {}) => {
      const before = snapshot();
      if (cmd === 'update_conversation' && ([...String(args.title ?? '')].length > 128 || [...String(args.remark ?? '')].length > 256)) sentTooLong.push(cmd);
      const answer = mock.invoke(cmd, args); // (the mock works it out at once)
      const after = snapshot();
      answer.then(
        (r) => cmd === 'conversation_members' && answers.add(JSON.stringify(sortMembers(r as MemberInfo[]))),
        () => expect(after, `a refused ${cmd} changed nothing`).toBe(before),
      );
      return s.schedule(answer, cmd) as never;
    },
    listen: (h) => mock.listen(h),
  };
  api.useBackend(backend);

  const store = new GroupInfoStore(GROUP, control.items().find((x) => x.id === GROUP)!, () => 'u-tom');
  await mock.listen((e: ImEvent) => e.kind === 'conversation' && store.conversationEvent(e.conversation));
  const first = store.load();

  const checkAlways = () => {
    const uids = store.members.map((m) => m.uid);
    expect(new Set(uids).size, 'each member once').toBe(uids.length);
    expect(store.members, 'sorted').toEqual(sortMembers(store.members));
    if (store.loaded) expect(answers.has(JSON.stringify(store.members)), 'a whole answer of the backend').toBe(true);
    expect(sentTooLong, 'too long is never sent').toEqual([]);
  };

  const checkSettled = () => {
    const server = control.items().find((x) => x.id === GROUP)!;
    expect(store.loaded).toBe(true);
    expect(store.loading).toBe(false);
    expect(store.members, "the backend's members").toEqual(sortMembers(control.members(GROUP)));
    const shown = store.conversation!;
    expect({ title: shown.title, remark: shown.remark, managerId: shown.managerId, userIds: shown.userIds }, "the backend's group").toEqual({
      title: server.title,
      remark: server.remark,
      managerId: server.managerId,
      userIds: server.userIds,
    });
    expect(store.isManager).toBe(server.managerId === 'u-tom');
  };

  let unsettled = 0;
  const track = <T>(p: Promise<T>) => {
    unsettled++;
    void p.finally(() => unsettled--);
    return p;
  };

  for (const a of actions) {
    switch (a.kind) {
      case 'rename':
        void track(store.rename(a.title)).then((r) => {
          if ([...a.title].length > 128) expect(r).toMatchObject({ ok: false, error: { code: 'field_too_long' } });
        });
        break;
      case 'remark':
        void track(store.setRemark(a.remark)).then((r) => {
          if ([...a.remark].length > 256) expect(r).toMatchObject({ ok: false, error: { code: 'field_too_long' } });
        });
        break;
      case 'add': {
        void track(store.add(a.usernames)).then((r) => {
          if (!r.ok && a.usernames.some((u) => u === 'nobody' || u === 'ghost')) expect(['user_not_found', 'not_manager', 'offline']).toContain(r.error.code);
          // Nobody said to be added who is not a member (as far as the answers go).
          for (const u of r.added) expect(r.notAdded).not.toContain(u);
        });
        break;
      }
      case 'remove':
        void track(store.remove(a.uid));
        break;
      case 'load':
        void track(store.load());
        break;
      case 'elsewhereMembers':
        control.membersElsewhere(GROUP, { add: a.add, remove: a.remove });
        break;
      case 'elsewhereUpdate':
        control.updateElsewhere(GROUP, { title: a.title, remark: a.remark });
        break;
      case 'manager':
        control.setManager(GROUP, a.uid);
        break;
      case 'message':
        control.incoming(GROUP, 'u-tom', 'hello');
        break;
      case 'deliver':
        await s.waitNext(Math.min(a.count, s.count()));
        break;
      case 'settle':
        await s.waitIdle();
        break;
    }
    await microtasks();
    checkAlways();
  }
  track(first);
  // Everything arrives (answers, the loads they start, the events).
  do {
    await s.waitIdle();
    await microtasks();
  } while (s.count() > 0 || unsettled > 0);
  checkAlways();
  checkSettled();
}

/** Cases per run: 200 normally; `UI_MODEL_CASES=20000 npm test` for a long run. */
const CASES = Number(process.env.UI_MODEL_CASES) || 200;

describe('the group info dialog against the mock backend (model-based)', () => {
  it("shows whole answers only, a refusal changes nothing, and once settled it is the backend's latest", async () => {
    await fc.assert(fc.asyncProperty(fc.scheduler(), fc.array(action, { minLength: 1, maxLength: 40 }), run), {
      numRuns: CASES,
      ...(process.env.UI_MODEL_SEED
        ? { seed: Number(process.env.UI_MODEL_SEED), path: process.env.UI_MODEL_PATH, endOnFailure: true }
        : {}),
    });
  }, 120_000);
});
