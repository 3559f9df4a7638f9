// What the component tests share: mounting into the document (and unmounting after each test),
// finding by data-testid, letting promises settle, keys and typing, a ResizeObserver for
// happy-dom (which does no layout), and the app signed in on the main screen.
import { vi } from 'vitest';
import { flushSync, mount, unmount, type Component } from 'svelte';
import type { ConversationItem } from '../../lib/api';
import type { app as App } from '../../lib/store.svelte';

let mounted: (() => void)[] = [];

/** Mounts `component` into a new element of the document; `unmountAll` takes it away. */
export function render<P extends Record<string, unknown>>(component: Component<P>, props: P): HTMLElement {
  const target = document.createElement('div');
  document.body.append(target);
  const c = mount(component, { target, props });
  flushSync();
  mounted.push(() => unmount(c));
  return target;
}

/** For `afterEach`: unmounts what `render` mounted and empties the document. */
export function unmountAll() {
  mounted.forEach((f) => f());
  mounted = [];
  document.body.innerHTML = '';
}

export const byId = (el: ParentNode, id: string) => el.querySelector<HTMLElement>(`[data-testid="${id}"]`);

/** Lets pending promises and timers of 0 ms run, then renders. */
export const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  flushSync();
};

export function key(el: Element, key: string, shiftKey = false) {
  el.dispatchEvent(new KeyboardEvent('keydown', { key, shiftKey, bubbles: true, cancelable: true }));
  flushSync();
}

export function type(input: HTMLInputElement | HTMLTextAreaElement, value: string) {
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
  flushSync();
}

/**
 * A ResizeObserver that reports the elements with these test ids 640 px tall (a viewport) and
 * any other 64 px (a row); `vi.unstubAllGlobals()` takes it away.
 */
export function stubResizeObserver(tall: string[]) {
  class FakeResizeObserver {
    constructor(private cb: ResizeObserverCallback) {}
    observe(target: Element) {
      const height = tall.includes(target.getAttribute('data-testid') ?? '') ? 640 : 64;
      const entry = { target, contentRect: { width: 300, height } } as unknown as ResizeObserverEntry;
      queueMicrotask(() => this.cb([entry], this as unknown as ResizeObserver));
    }
    unobserve() {}
    disconnect() {}
  }
  vi.stubGlobal('ResizeObserver', FakeResizeObserver);
  (window as unknown as { ResizeObserver: unknown }).ResizeObserver = FakeResizeObserver;
}

/** The app signed in as @tom, on the main screen with these conversations (all loaded), none open. */
export function showMain(app: typeof App, conversations: ConversationItem[]) {
  app.info = { version: '1', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.account = { uid: 'u-tom', username: 'tom', displayName: 'Tom', serverUrl: 'ws://x' };
  app.phase = 'main';
  app.conversations = conversations;
  app.conversationsLoaded = true;
  app.conversationsComplete = true;
  app.selectedId = null;
}
