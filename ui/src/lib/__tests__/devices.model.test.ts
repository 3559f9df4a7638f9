// A model-based test of the devices list of the Settings dialog (`DeviceStore`) against the mock
// backend, with fast-check choosing random interleavings of
//  - what the user does: open the dialog or press Try again (list_sessions), sign a device out
//    (revoke_session, on a row the list shows), change the password (right or wrong current one);
//  - what happens elsewhere: the account signs in on another device, a device is signed out from
//    another one (revoking it here is then `session_not_found`), the connection drops (every
//    command fails with `offline`) and comes back;
//  - and when the answers arrive: each answer goes through fast-check's scheduler, so a list
//    computed before a sign-out may arrive after it, an older list after a newer one…
// At every step the list is well-formed and never shows a device this one signed out; once every
// answer has arrived it agrees with the server (but for what changed there since the last load).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../api';
import type { Account, Backend, SessionInfo } from '../api';
import { createMockBackend } from '../mock';
import { DeviceStore } from '../stores/devices.svelte';

type Action =
  | { kind: 'load' }
  | { kind: 'revoke'; which: number }
  | { kind: 'changePassword'; right: boolean }
  | { kind: 'signInElsewhere'; named: boolean }
  | { kind: 'revokeElsewhere'; which: number }
  | { kind: 'offline' }
  | { kind: 'online' }
  | { kind: 'deliver'; count: number }
  | { kind: 'settle' };

const n = fc.nat({ max: 20 });
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'load' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('revoke' as const), which: n }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('changePassword' as const), right: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('signInElsewhere' as const), named: fc.boolean() }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('revokeElsewhere' as const), which: n }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'offline' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'online' as const }), weight: 2 },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 1 },
);

const pick = <T>(list: readonly T[], i: number): T | undefined => (list.length ? list[i % list.length] : undefined);
const microtasks = async (count = 20) => {
  for (let i = 0; i < count; i++) await Promise.resolve();
};

async function run(s: fc.Scheduler, actions: Action[]): Promise<void> {
  let clock = 1_700_000_000_000;
  const mock = createMockBackend({
    scripted: true,
    latencyMs: null, // answered at once: the scheduler decides when the answer arrives
    storage: null,
    quiet: true,
    history: 5,
    now: () => (clock += 1000),
    deliver: (fire) => fire(),
  });
  const account = (await mock.invoke('sign_in', { serverUrl: 'ws://127.0.0.1:7822/ws', username: 'tom', password: 'secret123' })) as Account;
  const backend: Backend = {
    invoke: (cmd, args) => s.schedule(mock.invoke(cmd, args), cmd),
    listen: (h) => mock.listen(h),
  };
  api.useBackend(backend);
  const control = mock.control;
  const store = new DeviceStore({ account: () => account });
  const currentId = control.sessions().find((x) => x.current)!.id;

  /** Devices this one signed out (its answer arrived): never shown again. */
  const signedOutHere = new Set<string>();
  /** Devices signed out elsewhere: may be shown until the next load. */
  const signedOutElsewhere = new Set<string>();
  /** The newest load: whether it succeeded (null: on its way), and whether the server changed since it was asked. */
  let loads = 0;
  let newest: { ok: boolean | null; stale: boolean } | null = null;
  let passwordCount = 0;

  const checkAlways = () => {
    const ids = store.list.map((x) => x.id);
    expect(new Set(ids).size, 'each device once').toBe(ids.length);
    for (let i = 1; i < store.list.length; i++) {
      expect(store.list[i - 1].createdAt, 'newest first').toBeGreaterThanOrEqual(store.list[i].createdAt);
    }
    const current = store.list.filter((x) => x.current);
    expect(current.length, 'at most one current device').toBeLessThanOrEqual(1);
    if (current[0]) expect(current[0].id, 'this device is the current one').toBe(currentId);
    for (const id of ids) expect(signedOutHere.has(id), `${id} was signed out here`).toBe(false);
    if (store.loaded) expect(current.length, 'this device is always listed once loaded').toBe(1);
  };

  const checkSettled = () => {
    expect(store.loading, 'nothing loading').toBe(false);
    expect(store.revoking.size, 'nothing being signed out').toBe(0);
    const server = new Map(control.sessions().map((x) => [x.id, x]));
    for (const x of store.list) {
      if (server.has(x.id)) expect(x, 'as the server has it').toEqual(server.get(x.id));
      else expect(signedOutElsewhere.has(x.id), `${x.id} is only shown if signed out elsewhere`).toBe(true);
    }
    if (newest) {
      expect(store.error === null, 'an error iff the newest load failed').toBe(newest.ok === true);
      if (newest.ok && !newest.stale) expect(store.list, 'up to date after a fresh load').toEqual(control.sessions());
    }
  };

  const load = () => {
    const mine = ++loads;
    const entry = { ok: null as boolean | null, stale: false };
    newest = entry;
    void store.load().then((ok) => {
      if (mine === loads) entry.ok = ok;
    });
  };
  const serverChanged = () => {
    if (newest) newest.stale = true;
  };

  checkAlways();
  for (const a of actions) {
    switch (a.kind) {
      case 'load':
        load();
        break;
      case 'revoke': {
        // A row the dialog shows, with its Sign out enabled.
        const x = pick(
          store.list.filter((y) => !y.current && !store.revoking.has(y.id)),
          a.which,
        );
        if (x) void store.revoke(x.id).then((error) => error === null && signedOutHere.add(x.id));
        break;
      }
      case 'changePassword': {
        const before = control.sessions().filter((x) => !x.current).map((x) => x.id);
        const old = a.right ? control.password()! : 'not-the-password';
        void store.changePassword(old, `new-password-${++passwordCount}`).then(
          () => before.forEach((id) => signedOutHere.add(id)),
          (e: api.AppError) => expect(['wrong_credentials', 'rate_limited', 'offline']).toContain(e.code),
        );
        break;
      }
      case 'signInElsewhere':
        control.signInElsewhere(a.named ? 'Gtedx IM on Android' : '');
        serverChanged();
        break;
      case 'revokeElsewhere': {
        const x = pick(
          control.sessions().filter((y: SessionInfo) => !y.current),
          a.which,
        );
        if (x && control.revokeElsewhere(x.id)) {
          signedOutElsewhere.add(x.id);
          serverChanged();
        }
        break;
      }
      case 'offline':
        control.setOnline(false);
        break;
      case 'online':
        control.setOnline(true);
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
    if (s.count() === 0) checkSettled();
  }
  await s.waitIdle();
  await microtasks();
  checkAlways();
  checkSettled();

  // Back online, a last load: exactly the server's list.
  control.setOnline(true);
  load();
  await microtasks();
  await s.waitIdle();
  await microtasks();
  checkAlways();
  checkSettled();
  expect(store.list).toEqual(control.sessions());
  expect(store.loaded).toBe(true);
}

/** Cases per run: 200 normally; `UI_MODEL_CASES=20000 npm test` for a long run. */
const CASES = Number(process.env.UI_MODEL_CASES) || 200;

describe('the devices list against the mock backend (model-based)', () => {
  it('stays well-formed, never shows a device signed out here, and agrees with the server once settled', async () => {
    await fc.assert(fc.asyncProperty(fc.scheduler(), fc.array(action, { minLength: 1, maxLength: 40 }), run), {
      numRuns: CASES,
      ...(process.env.UI_MODEL_SEED
        ? { seed: Number(process.env.UI_MODEL_SEED), path: process.env.UI_MODEL_PATH, endOnFailure: true }
        : {}),
    });
  }, 60_000 + CASES * 100);
});
