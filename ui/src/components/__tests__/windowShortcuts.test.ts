// @vitest-environment happy-dom
// Ctrl+W and Ctrl+Q ask the backend (`close_window`, `quit_app`) on every screen, also while the
// composer has the focus; never during an input method's composition. The whole app (App.svelte)
// against the mock backend.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { useBackend } from '../../lib/api';
import { createMockBackend } from '../../lib/mock';
import { byId, render, settle, stubResizeObserver, unmountAll } from './dom';

const { app } = await import('../../lib/store.svelte');
const App = (await import('../../App.svelte')).default;

afterEach(async () => {
  unmountAll();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  if (app.phase === 'main') await app.signOut();
});

function press(target: EventTarget, key: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const e = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...init });
  target.dispatchEvent(e);
  flushSync();
  return e;
}

function backend(search: string) {
  vi.spyOn(console, 'info').mockImplementation(() => {}); // (the mock's ui_ready line)
  const m = createMockBackend({ search, scripted: true, latencyMs: null, storage: null, quiet: true, history: 3, deliver: (fire) => fire() });
  useBackend(m);
  return m;
}

describe('Ctrl+W and Ctrl+Q', () => {
  it('from the composer of an open chat: close_window, then quit_app (not while composing)', async () => {
    stubResizeObserver(['conversation-list', 'message-list']);
    const m = backend('?mock=signedin');
    const el = render(App, {});
    await vi.waitFor(() => expect(byId(el, 'main')).not.toBeNull());
    await app.select('c-group');
    await settle();
    const composer = byId(el, 'composer')!;
    expect(document.activeElement).toBe(composer);

    press(composer, 'w', { ctrlKey: true, isComposing: true });
    press(composer, 'q', { ctrlKey: true, keyCode: 229 });
    await settle();
    expect(m.control.windowCommands()).toEqual([]);

    const close = press(composer, 'w', { ctrlKey: true });
    await settle();
    expect(close.defaultPrevented).toBe(true);
    expect(m.control.windowCommands()).toEqual(['close_window']);
    press(composer, 'q', { ctrlKey: true });
    await settle();
    expect(m.control.windowCommands()).toEqual(['close_window', 'quit_app']);
  });

  it('on the sign-in screen too', async () => {
    const m = backend('');
    const el = render(App, {});
    await vi.waitFor(() => expect(byId(el, 'auth-form')).not.toBeNull());
    press(byId(el, 'username')!, 'q', { ctrlKey: true });
    await settle();
    expect(m.control.windowCommands()).toEqual(['quit_app']);
  });
});
