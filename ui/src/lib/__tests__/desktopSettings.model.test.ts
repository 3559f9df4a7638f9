// A model-based test of the desktop settings (`DesktopSettingsStore`) against the mock backend,
// with fast-check choosing random interleavings of
//  - what the user does in the Settings dialog: open it (desktop_settings), tick or untick close to
//    tray, start at sign-in or hardware acceleration (where it applies: Linux; null elsewhere),
//    pause the notifications for an hour or until tomorrow, resume them, restart the app (once
//    everything has arrived: then the app uses the hardware acceleration saved, and its Settings
//    start afresh, a new store);
//  - what happens elsewhere: the tray menu pauses or resumes them (a `desktopSettings` event), the
//    autostart entry becomes impossible to write (set_start_at_login fails with `autostart`) or
//    possible again;
//  - and when answers and events arrive: each goes through fast-check's scheduler (the events in
//    their order, as the channel keeps it), so an answer may cross an event or another answer.
// The model is what the backend must hold: a change taken sets it (hardware acceleration: the saved
// choice, `enabled`; what the app uses, `active`, only at a restart), a refused one leaves it, the
// tray's pause sets it. At every step a checkbox whose latest change is on its way shows that
// value, and every toast is a refusal's; each time everything has arrived, the store shows exactly
// the model (the last answer wins, an event replaces the state, a refused change is put back).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as api from '../api';
import type { Backend, DesktopSettings, MuteSpan } from '../api';
import { createMockBackend, tomorrowMorning } from '../mock';
import { DesktopSettingsStore, type DesktopToggle } from '../stores/desktopSettings.svelte';
import { ToastStore } from '../stores/toasts.svelte';

type Action =
  | { kind: 'load' }
  | { kind: 'toggle'; field: DesktopToggle; value: boolean }
  | { kind: 'mute'; span: MuteSpan }
  | { kind: 'tray'; span: MuteSpan }
  | { kind: 'autostartFails'; fails: boolean }
  | { kind: 'restart' }
  | { kind: 'deliver'; count: number }
  | { kind: 'settle' };

const span = fc.constantFrom<MuteSpan>('hour', 'tomorrow', 'off');
const action: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'load' as const }), weight: 2 },
  {
    arbitrary: fc.record({
      kind: fc.constant('toggle' as const),
      field: fc.constantFrom<DesktopToggle>('closeToTray', 'startAtLogin', 'hardwareAcceleration'),
      value: fc.boolean(),
    }),
    weight: 6,
  },
  { arbitrary: fc.record({ kind: fc.constant('mute' as const), span }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('tray' as const), span }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('autostartFails' as const), fails: fc.boolean() }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'restart' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('deliver' as const), count: fc.integer({ min: 1, max: 3 }) }), weight: 6 },
  { arbitrary: fc.constant({ kind: 'settle' as const }), weight: 2 },
);

const NOW = new Date(2026, 2, 3, 10, 0).getTime();
const AUTOSTART_TOAST = 'Gtedx IM could not change whether it starts when you sign in.';

/** What a setting shows (hardware acceleration: its saved choice). */
type Shown = DesktopToggle | 'notificationsMutedUntil';
const read = (settings: DesktopSettings | null | undefined, key: Shown) =>
  key === 'hardwareAcceleration' ? settings?.hardwareAcceleration?.enabled : settings?.[key];

const microtasks = async (count = 30) => {
  for (let i = 0; i < count; i++) await Promise.resolve();
};

async function run(s: fc.Scheduler, trayAvailable: boolean, hardware: boolean, actions: Action[]): Promise<void> {
  // Events keep their order: each scheduled delivery fires the oldest one waiting.
  const events: (() => void)[] = [];
  let emitted = 0;
  let delivered = 0;
  const mock = createMockBackend({
    scripted: true,
    latencyMs: null, // answered at once: the scheduler decides when the answer arrives
    storage: null,
    quiet: true,
    history: 5,
    now: () => NOW,
    desktop: { trayAvailable, hardwareAcceleration: hardware ? { enabled: false, active: false } : null },
    deliver: (fire) => {
      emitted++;
      events.push(fire);
      void s.schedule(Promise.resolve(), 'event').then(() => {
        delivered++;
        events.shift()!();
        // The tray's pause, made while nothing was on its way: shown from its event on.
        if (trayClaim && trayClaim.event === delivered) answered.notificationsMutedUntil = trayClaim.value;
      });
    },
  });
  const backend: Backend = {
    invoke: (cmd, args) => s.schedule(mock.invoke(cmd, args), cmd),
    listen: (h) => mock.listen(h),
  };
  api.useBackend(backend);
  let toasts = new ToastStore();
  let store = new DesktopSettingsStore(toasts);
  await mock.listen((e) => e.kind === 'desktopSettings' && store.event(e.settings));

  // The model: what the backend must hold.
  const model: DesktopSettings = {
    closeToTray: false,
    startAtLogin: false,
    notificationsMutedUntil: null,
    trayAvailable,
    hardwareAcceleration: hardware ? { enabled: false, active: false } : null,
  };
  let autostartFails = false;
  const until = (sp: MuteSpan) => (sp === 'hour' ? NOW + 3_600_000 : sp === 'tomorrow' ? tomorrowMorning(NOW) : null);
  /** The checkbox changes on their way (by id), and the latest one asked for of each checkbox. */
  const pending = new Set<number>();
  const latest: Partial<Record<DesktopToggle, { id: number; value: boolean }>> = {};
  let ids = 0;
  let refusals = 0;
  let trays = 0;
  let trayClaim: { event: number; value: number | null } | null = null;
  /**
   * What must show from some point on until the next change of the same setting: a change taken
   * (the latest asked for, asked while no event was on its way), from its answer on; the tray's
   * pause made while nothing was on its way, from its event on. (An event sent before a change
   * and arriving after it was made may show the older state until the store has asked again.)
   */
  const answered: Partial<Record<Shown, boolean | number | null>> = {};
  const muteIds = { latest: 0 };

  const checkAlways = () => {
    expect(mock.control.desktopSettings(), 'the mock holds the model').toEqual(model);
    const shown = store.settings;
    if (shown) {
      for (const field of ['closeToTray', 'startAtLogin', 'hardwareAcceleration'] as const) {
        const last = latest[field];
        if (last && pending.has(last.id)) expect(read(shown, field), `${field}: the latest value asked for, on its way`).toBe(last.value);
      }
      expect(shown.trayAvailable).toBe(trayAvailable);
      expect(shown.hardwareAcceleration === null, 'hardware acceleration applies, or not').toBe(!hardware);
      // (What the running app uses changes only at a restart: never with a change on its way.)
      expect(shown.hardwareAcceleration?.active).toBe(model.hardwareAcceleration?.active);
    }
    for (const t of toasts.toasts) expect(t.text.startsWith(AUTOSTART_TOAST), t.text).toBe(true);
    if (refusals > 0) expect(toasts.toasts.length, 'a refusal is a toast').toBeGreaterThan(0);
    for (const [field, value] of Object.entries(answered)) {
      expect(read(shown, field as Shown), `${field}: as the last answer said`).toBe(value);
    }
  };
  const checkSettled = () => {
    expect(pending.size).toBe(0);
    expect([store.loading, store.muting, store.restarting], 'nothing on its way').toEqual([false, false, false]);
    if (store.loaded) expect(store.settings, 'the store shows the model').toEqual(model);
  };
  const settle = async () => {
    do {
      await s.waitIdle();
      await microtasks();
    } while (s.count() > 0);
  };

  for (const a of actions) {
    switch (a.kind) {
      case 'load':
        void store.load();
        break;
      case 'toggle': {
        // (The dialog offers hardware acceleration only where it applies.)
        if (a.field === 'hardwareAcceleration' && !hardware) break;
        const id = ++ids;
        pending.add(id);
        latest[a.field] = { id, value: a.value };
        delete answered[a.field];
        const quiet = emitted === delivered;
        const refused = a.field === 'startAtLogin' && autostartFails;
        if (refused) {
          // (Nothing changes.)
        } else if (a.field === 'hardwareAcceleration') {
          model.hardwareAcceleration = { ...model.hardwareAcceleration!, enabled: a.value };
        } else {
          model[a.field] = a.value;
        }
        const done =
          a.field === 'closeToTray'
            ? store.setCloseToTray(a.value)
            : a.field === 'startAtLogin'
              ? store.setStartAtLogin(a.value)
              : store.setHardwareAcceleration(a.value);
        void done.then((ok) => {
          expect(ok, 'taken unless refused').toBe(!refused);
          if (!ok) refusals++;
          pending.delete(id);
          if (ok && latest[a.field]?.id === id && quiet) answered[a.field] = a.value;
        });
        break;
      }
      case 'mute': {
        model.notificationsMutedUntil = until(a.span);
        const id = ++muteIds.latest;
        trayClaim = null;
        const [quiet, traysBefore] = [emitted === delivered, trays];
        delete answered.notificationsMutedUntil;
        void store.mute(a.span).then((ok) => {
          expect(ok).toBe(true);
          if (muteIds.latest === id && trays === traysBefore && quiet) answered.notificationsMutedUntil = until(a.span);
        });
        break;
      }
      case 'tray':
        model.notificationsMutedUntil = until(a.span);
        trays++;
        delete answered.notificationsMutedUntil;
        trayClaim = null;
        const quiet = s.count() === 0;
        mock.control.muteFromTray(a.span);
        if (quiet) trayClaim = { event: emitted, value: until(a.span) };
        break;
      case 'autostartFails':
        autostartFails = a.fails;
        mock.control.failAutostart(a.fails);
        break;
      case 'restart': {
        await settle();
        const restarted = store.restart();
        await settle();
        expect(await restarted, 'restart_app taken').toBe(true);
        expect(mock.control.windowCommands().slice(-1)).toEqual(['restart_app']);
        const hw = model.hardwareAcceleration;
        if (hw) model.hardwareAcceleration = { ...hw, active: hw.enabled };
        // The app starts afresh: its Settings know nothing yet (the mock keeps its state).
        toasts = new ToastStore();
        store = new DesktopSettingsStore(toasts);
        for (const key of Object.keys(answered)) delete answered[key as Shown];
        refusals = 0;
        trayClaim = null;
        break;
      }
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

  // The dialog opened again: exactly the model.
  void store.load();
  await settle();
  expect(store.settings).toEqual(model);
}

/** Cases per run: 200 normally; `UI_MODEL_CASES=20000 npm test` for a long run. */
const CASES = Number(process.env.UI_MODEL_CASES) || 200;

describe('the desktop settings against the mock backend (model-based)', () => {
  it('show the changes on their way, and agree with the backend whenever everything has arrived', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.boolean(), fc.boolean(), fc.array(action, { minLength: 1, maxLength: 40 }), run),
      {
        numRuns: CASES,
        ...(process.env.UI_MODEL_SEED
          ? { seed: Number(process.env.UI_MODEL_SEED), path: process.env.UI_MODEL_PATH, endOnFailure: true }
          : {}),
      },
    );
  }, 60_000 + CASES * 100);
});
