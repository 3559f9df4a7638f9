// A model-based test of the self-update (`UpdateStore`) against the mock backend, with fast-check
// choosing random interleavings of
//  - what the user does: open Settings (update_status), check for updates, tick or untick the
//    automatic checks, "Restart to update" (install_update) and "Later" (the banner put away), each
//    only when its button can be clicked;
//  - what happens in the backend: the daily check starts, finds nothing, finds a version (its size
//    known or not), the download progresses, is verified (ready), or the check or the download
//    fails; or a whole check at once (it starts, finds a version, has it ready); installing becomes impossible (install_update fails, the update stays ready) or
//    possible again;
//  - and when answers and events arrive: each goes through fast-check's scheduler (the events in
//    their order, as the channel keeps it), so an answer may cross an event or another answer
//    (check_for_updates answering `checking` after the check's own events, set_auto_update
//    changing the status without an event).
// Each case starts with nothing checked yet, or with an update found and downloaded after start
// (its events still on their way), and with installing possible or not. The reference is a tiny model of the backend (its update machine: one check or download at once,
// a ready update kept until installed) plus what the user did: the versions put away, and the last
// refused install. At every step the checkbox whose change is on its way shows the value asked
// for, a banner is never of a version put away, "Restarting…" shows only while an install is on
// its way or runs, and no toast appears (nothing here is refused);
// each time everything has arrived, the store shows exactly the model: the same status, the banner
// the model implies (its version, Restart, the refused install's error), and "busy" exactly while
// a check, a download or an install runs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../api';
import type { Backend, UpdateState, UpdateStatus } from '../api';
import { createMockBackend, MOCK_VERSION } from '../mock';
import { bannerFor, failureApplies, type InstallFailure } from '../stores/updates.svelte';
import { ToastStore } from '../stores/toasts.svelte';
import { UpdateStore } from '../stores/updates.svelte';

type Action =
  | { kind: 'load' }
  | { kind: 'check' }
  | { kind: 'auto'; value: boolean }
  | { kind: 'install' }
  | { kind: 'later' }
  | { kind: 'dailyCheck' }
  | { kind: 'upToDate' }
  | { kind: 'found'; version: string; sized: boolean }
  | { kind: 'progress'; bytes: number }
  | { kind: 'downloaded' }
  | { kind: 'failed'; code: string }
  | { kind: 'wholeCheck'; version: string }
  | { kind: 'installFails'; fails: boolean }
  | { kind: 'deliver'; count: number }
  | { kind: 'settle' };

const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'load' as const }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'check' as const }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('auto' as const), value: fc.boolean() }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'install' as const }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'later' as const }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'dailyCheck' as const }), weight: 2 },
  { arbitrary: fc.constant({ kind: 'upToDate' as const }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('found' as const), version: fc.constantFrom('0.2.0', '0.3.0'), sized: fc.boolean() }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('progress' as const), bytes: fc.integer({ min: 1, max: 5_000_000 }) }), weight: 3 },
  { arbitrary: fc.constant({ kind: 'downloaded' as const }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant('failed' as const), code: fc.constantFrom('update_network', 'update_signature', 'update_format') }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('wholeCheck' as const), version: fc.constantFrom('0.2.0', '0.3.0') }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('installFails' as const), fails: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 4 }) }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 5 },
);

const NOW = new Date(2026, 2, 3, 10, 0).getTime();
const NOTES = 'Faster start-up.';
const TOTAL = 20_000_000;

const microtasks = async (count = 30) => {
  for (let i = 0; i < count; i++) await Promise.resolve();
};

/** The backend's update machine, as small as it gets (src-tauri's UpdateMachine). */
class Model {
  state: UpdateState = { kind: 'idle' };
  checkedAt: number | null = null;
  autoCheck = true;
  installFails = false;

  status(): UpdateStatus {
    return { currentVersion: MOCK_VERSION, autoCheck: this.autoCheck, checkedAt: this.checkedAt, state: structuredClone(this.state) };
  }
  checkStarts(): void {
    if (['idle', 'upToDate', 'failed'].includes(this.state.kind)) this.state = { kind: 'checking' };
  }
  upToDate(now: number): void {
    if (this.state.kind !== 'checking') return;
    this.state = { kind: 'upToDate' };
    this.checkedAt = now;
  }
  found(version: string, total: number | null, now: number): void {
    if (this.state.kind !== 'checking') return;
    this.state = { kind: 'downloading', version, received: 0, total };
    this.checkedAt = now;
  }
  progress(bytes: number): void {
    if (this.state.kind === 'downloading') this.state = { ...this.state, received: this.state.received + bytes };
  }
  downloaded(): void {
    if (this.state.kind === 'downloading') this.state = { kind: 'ready', version: this.state.version, notes: NOTES };
  }
  failed(code: string, now: number): void {
    if (this.state.kind !== 'checking' && this.state.kind !== 'downloading') return;
    if (this.state.kind === 'checking') this.checkedAt = now;
    this.state = { kind: 'failed', error: { code, message: '' } };
  }
  /** install_update: whether it is taken (a refused one leaves the update ready). */
  install(): boolean {
    if (this.state.kind !== 'ready' || this.installFails) return false;
    this.state = { kind: 'installing', version: this.state.version };
    return true;
  }
}

/** The status without the backend's (technical) error messages, which the model does not know. */
const withoutMessages = (s: UpdateStatus | null | undefined) =>
  s && (s.state.kind === 'failed' ? { ...s, state: { kind: 'failed', error: { code: s.state.error.code } } } : s);

async function run(s: fc.Scheduler, readyAtStart: boolean, installFails: boolean, actions: Action[]): Promise<void> {
  let clock = NOW;
  const events: (() => void)[] = [];
  const mock = createMockBackend({
    scripted: true,
    latencyMs: null, // answered at once: the scheduler decides when the answer arrives
    storage: null,
    quiet: true,
    history: 5,
    now: () => clock,
    update: { version: null, notes: NOTES, checkFails: null, unsupported: false, installFails },
    deliver: (fire) => {
      events.push(fire);
      void s.schedule(Promise.resolve(), 'event').then(() => events.shift()!());
    },
  });
  const backend: Backend = {
    invoke: (cmd, args) => s.schedule(mock.invoke(cmd, args), cmd),
    listen: (h) => mock.listen(h),
  };
  api.useBackend(backend);
  const toasts = new ToastStore();
  const store = new UpdateStore(toasts);
  await mock.listen((e) => e.kind === 'update' && store.event(e.status));
  // (The app loads the status at start.)
  void store.load();

  const model = new Model();
  model.installFails = installFails;
  if (readyAtStart) {
    // (The check after start has found 0.2.0 and downloaded it already; its events are on their way.)
    model.checkStarts();
    model.found('0.2.0', TOTAL, clock);
    model.progress(TOTAL);
    model.downloaded();
    mock.control.updateCheckStarts();
    mock.control.updateFound('0.2.0', TOTAL);
    mock.control.updateProgress(TOTAL);
    mock.control.updateDownloaded();
  }
  /** The versions put away ("Later"), and the last refused install (while it still counts). */
  const dismissed = new Set<string>();
  let failure: InstallFailure | null = null;
  /** The automatic-checks changes on their way (by id), and the latest one asked for. */
  const pending = new Set<number>();
  let latest: { id: number; value: boolean } | null = null;
  let ids = 0;
  let installs = 0;

  const checkAlways = () => {
    expect(withoutMessages(mock.control.updateStatus()), 'the mock holds the model').toEqual(withoutMessages(model.status()));
    if (latest && pending.has(latest.id)) expect(store.status?.autoCheck, 'the latest value asked for, on its way').toBe(latest.value);
    const banner = store.banner;
    if (banner) expect(dismissed.has(banner.version), `the banner of ${banner.version}, put away`).toBe(false);
    // "Restarting…" only while an install is on its way or the backend installs (not for an
    // `installing` event that a refusal already answered).
    if (store.installing) expect(installs > 0 || model.state.kind === 'installing', 'installing').toBe(true);
    expect(toasts.toasts.map((t) => t.text), 'nothing refused').toEqual([]);
  };
  const checkSettled = () => {
    expect(pending.size).toBe(0);
    expect(installs).toBe(0);
    expect([store.loading, store.checking, store.installPending], 'nothing on its way').toEqual([false, false, false]);
    if (!store.loaded) return;
    expect(withoutMessages(store.status), 'the store shows the model').toEqual(withoutMessages(model.status()));
    const applies = failure && failureApplies(failure, model.state) ? failure : null;
    expect(store.installFailure?.version ?? null, 'the refused install').toBe(applies?.version ?? null);
    const expected = bannerFor(model.status(), failure, dismissed, false);
    const banner = store.banner;
    expect(banner && { ...banner, error: banner.error?.code ?? null }, 'the banner').toEqual(
      expected && { ...expected, error: expected.error?.code ?? null },
    );
    expect(store.busy, 'busy while a check, a download or an install runs').toBe(['checking', 'downloading', 'installing'].includes(model.state.kind));
  };
  const settle = async () => {
    do {
      await s.waitIdle();
      await microtasks();
    } while (s.count() > 0);
  };

  for (const a of actions) {
    clock += 60_000;
    switch (a.kind) {
      case 'load':
        void store.load();
        break;
      case 'check':
        if (store.busy) break; // (the button is disabled)
        failure = null;
        model.checkStarts();
        void store.check().then((ok) => expect(ok, 'taken').toBe(true));
        break;
      case 'auto': {
        if (!store.status) break; // (the checkbox is disabled)
        const id = ++ids;
        pending.add(id);
        latest = { id, value: a.value };
        model.autoCheck = a.value;
        void store.setAutoCheck(a.value).then((ok) => {
          expect(ok, 'taken').toBe(true);
          pending.delete(id);
        });
        break;
      }
      case 'install': {
        // (The banner's or Settings' "Restart to update": shown while an update is ready, disabled while installing.)
        const shown = store.status?.state;
        if (shown?.kind !== 'ready' || store.installing) break;
        const version = shown.version;
        failure = null;
        const taken = model.install();
        installs++;
        void store.install().then((ok) => {
          installs--;
          expect(ok, 'installed unless refused').toBe(taken);
          if (!ok) failure = { version, error: { code: 'update_install', message: '' } };
        });
        break;
      }
      case 'later': {
        const banner = store.banner;
        if (!banner || banner.installing) break; // (no enabled Later)
        dismissed.add(banner.version);
        store.dismiss();
        break;
      }
      case 'dailyCheck':
        if (!model.autoCheck) break;
        model.checkStarts();
        mock.control.updateCheckStarts();
        break;
      case 'upToDate':
        model.upToDate(clock);
        mock.control.updateUpToDate();
        break;
      case 'found':
        model.found(a.version, a.sized ? TOTAL : null, clock);
        mock.control.updateFound(a.version, a.sized ? TOTAL : null);
        break;
      case 'progress':
        model.progress(a.bytes);
        mock.control.updateProgress(a.bytes);
        break;
      case 'downloaded':
        model.downloaded();
        mock.control.updateDownloaded();
        break;
      case 'failed':
        model.failed(a.code, clock);
        mock.control.updateFailed(a.code);
        break;
      case 'wholeCheck':
        // (Each step an event of its own; a step that does not fit the state does nothing.)
        for (const step of [
          () => (model.checkStarts(), mock.control.updateCheckStarts()),
          () => (model.found(a.version, TOTAL, clock), mock.control.updateFound(a.version, TOTAL)),
          () => (model.progress(TOTAL), mock.control.updateProgress(TOTAL)),
          () => (model.downloaded(), mock.control.updateDownloaded()),
        ]) {
          step();
        }
        break;
      case 'installFails':
        model.installFails = a.fails;
        mock.control.failUpdateInstall(a.fails);
        break;
      case 'deliver':
        await s.waitNext(Math.min(a.count, s.count()));
        break;
      case 'settle':
        await settle();
        break;
    }
    await microtasks();
    checkAlways();
    if (s.count() === 0) checkSettled();
  }
  await settle();
  checkAlways();
  checkSettled();

  // Settings opened again: exactly the model.
  void store.load();
  await settle();
  expect(withoutMessages(store.status)).toEqual(withoutMessages(model.status()));
}

/** Cases per run: 200 normally; `UI_MODEL_CASES=20000 npm test` for a long run. */
const CASES = Number(process.env.UI_MODEL_CASES) || 200;

describe('the self-update against the mock backend (model-based)', () => {
  it('shows the changes on their way, and agrees with the backend whenever everything has arrived', async () => {
    await fc.assert(fc.asyncProperty(fc.scheduler(), fc.boolean(), fc.boolean(), fc.array(action, { minLength: 1, maxLength: 40 }), run), {
      numRuns: CASES,
      ...(process.env.UI_MODEL_SEED ? { seed: Number(process.env.UI_MODEL_SEED), path: process.env.UI_MODEL_PATH, endOnFailure: true } : {}),
    });
  }, 60_000 + CASES * 100);
});
