// The app's real stores signed in against a scripted mock backend, for tests of how commands'
// answers and pushed events interleave: answers can be held back and released, events held and
// released, every command call is recorded. Each test file that uses it disposes its apps after
// each test (`disposeApps`).
import * as api from '../api';
import type { Backend, ImEvent } from '../api';
import { createMockBackend, type MockBackend } from '../mock';
import { createApp, type App } from '../store.svelte';

export type Call = { cmd: string; args: Record<string, unknown> };

let apps: App[] = [];

/** Disposes the apps made since the last call (call it in `afterEach`). */
export function disposeApps(): void {
  apps.forEach((a) => a.dispose());
  apps = [];
}

export const HOUR = 3_600_000;

/**
 * The app signed in against a scripted mock (its clock at the real time, so that the edit and
 * recall windows are the UI's too). `hold(cmd, args)`: answers to keep back until `release()`;
 * events are delivered at once (before the answer of the command that caused them) unless held
 * with `holdEvents`.
 */
export async function setup(history = 20) {
  let clock = Date.now() - 10 * 60_000;
  const held: (() => void)[] = [];
  let holding: ((cmd: string, args: Record<string, unknown>) => boolean) | null = null;
  let eventsHeld = false;
  const events: (() => void)[] = [];
  const mock: MockBackend = createMockBackend({
    search: '?mock=signedin',
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history,
    now: () => (clock += 1000),
    deliver: (fire) => (eventsHeld ? events.push(fire) : fire()),
  });
  const calls: Call[] = [];
  const backend: Backend = {
    invoke: async <T,>(cmd: string, args?: Record<string, unknown>) => {
      calls.push({ cmd, args: args ?? {} });
      const answer = mock.invoke<T>(cmd, args);
      if (holding?.(cmd, args ?? {})) {
        // (Settled or not, it is answered when released.)
        const settled = answer.then(
          (v) => ({ ok: true as const, v }),
          (e: unknown) => ({ ok: false as const, e }),
        );
        await new Promise<void>((r) => held.push(r));
        const result = await settled;
        if (!result.ok) throw result.e;
        return result.v;
      }
      return answer;
    },
    listen: (h) => mock.listen(h),
  };
  api.useBackend(backend);
  const app = createApp();
  apps.push(app);
  await app.boot();
  const tick = async () => {
    for (let i = 0; i < 20; i++) await Promise.resolve();
  };
  return {
    app,
    mock,
    control: mock.control,
    calls: (cmd: string) => calls.filter((c) => c.cmd === cmd),
    hold(f: (cmd: string, args: Record<string, unknown>) => boolean) {
      holding = f;
    },
    async release() {
      holding = null;
      held.splice(0).forEach((r) => r());
      await tick();
    },
    holdEvents() {
      eventsHeld = true;
    },
    async releaseEvents() {
      eventsHeld = false;
      events.splice(0).forEach((f) => f());
      await tick();
    },
    tick,
  };
}

/** An event as the backend would send it, straight to the app (e.g. one the mock would not send). */
export const emit = (app: App, e: ImEvent) => (app as unknown as { onEvent(e: ImEvent): void }).onEvent(e);

export const thread = (app: App) => app.currentThread!.messages;
export const bySeq = (app: App, seq: number) => thread(app).find((m) => m.seq === seq);
export const ownSent = (app: App) => thread(app).filter((m) => m.own && m.seq !== null);
