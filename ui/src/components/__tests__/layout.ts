// The layout happy-dom lacks, for the message list's scroller: 640 px tall, its content as tall
// as the virtual list says, `scrollTop` clamped, scroll events fired; rows measured 64 px (those
// whose text says "tall" 240 px). Shared by the tests of the message view.
import { vi } from 'vitest';
import { settle } from './dom';

export const VIEWPORT_PX = 640;
export const ROW_PX = 64;
/** Rows whose text says "tall" are measured this tall (the list estimated them at ROW_PX). */
export const TALL_ROW_PX = 240;

/** The layout happy-dom lacks, for the message list's scroller only. */
export function layOutScroller() {
  const proto = HTMLElement.prototype;
  const saved = (['scrollTop', 'scrollHeight', 'clientHeight', 'offsetParent'] as const).map(
    (name) => [name, Object.getOwnPropertyDescriptor(proto, name) ?? Object.getOwnPropertyDescriptor(Element.prototype, name)] as const,
  );
  const savedScrollTo = proto.scrollTo;
  const savedScrollBy = proto.scrollBy;
  const tops = new WeakMap<HTMLElement, number>();
  const isScroller = (el: HTMLElement) => el.dataset?.testid === 'message-list';
  const contentHeight = (el: HTMLElement) => {
    const list = el.querySelector<HTMLElement>('.content > div');
    return (list ? parseFloat(list.style.height) || 0 : 0) + 10; // + the content's padding
  };
  const maxTop = (el: HTMLElement) => Math.max(0, contentHeight(el) - VIEWPORT_PX);
  const setTop = (el: HTMLElement, top: number) => {
    const next = Math.min(Math.max(0, top), maxTop(el));
    if (next === (tops.get(el) ?? 0)) return;
    tops.set(el, next);
    setTimeout(() => el.dispatchEvent(new Event('scroll')), 0);
  };
  Object.defineProperty(proto, 'scrollTop', {
    configurable: true,
    get(this: HTMLElement) {
      return isScroller(this) ? Math.min(tops.get(this) ?? 0, maxTop(this)) : 0;
    },
    set(this: HTMLElement, v: number) {
      if (isScroller(this)) setTop(this, v);
    },
  });
  Object.defineProperty(proto, 'scrollHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return isScroller(this) ? Math.max(VIEWPORT_PX, contentHeight(this)) : 0;
    },
  });
  Object.defineProperty(proto, 'clientHeight', {
    configurable: true,
    get(this: HTMLElement) {
      return isScroller(this) ? VIEWPORT_PX : 0;
    },
  });
  // virtua measures only items that are laid out.
  Object.defineProperty(proto, 'offsetParent', {
    configurable: true,
    get(this: HTMLElement) {
      return this.parentElement;
    },
  });
  proto.scrollTo = function (this: HTMLElement, a?: ScrollToOptions | number, b?: number) {
    const top = typeof a === 'object' ? a.top : b;
    if (isScroller(this) && top !== undefined) setTop(this, top);
  } as typeof proto.scrollTo;
  proto.scrollBy = function (this: HTMLElement, a?: ScrollToOptions | number, b?: number) {
    const dy = typeof a === 'object' ? a.top : b;
    if (isScroller(this) && dy !== undefined) setTop(this, this.scrollTop + dy);
  } as typeof proto.scrollBy;

  // Rows are ROW_PX tall ("tall" ones TALL_ROW_PX), the scroller VIEWPORT_PX.
  class FakeResizeObserver {
    constructor(private cb: ResizeObserverCallback) {}
    observe(target: Element) {
      const el = target as HTMLElement;
      const height = isScroller(el) ? VIEWPORT_PX : el.textContent?.includes('tall') ? TALL_ROW_PX : ROW_PX;
      const entry = { target, contentRect: { width: 600, height } } as unknown as ResizeObserverEntry;
      setTimeout(() => this.cb([entry], this as unknown as ResizeObserver), 0);
    }
    unobserve() {}
    disconnect() {}
  }
  vi.stubGlobal('ResizeObserver', FakeResizeObserver);

  return () => {
    for (const [name, d] of saved) {
      if (d) Object.defineProperty(proto, name, d);
      else delete (proto as unknown as Record<string, unknown>)[name];
    }
    proto.scrollTo = savedScrollTo;
    proto.scrollBy = savedScrollBy;
  };
}

/** Lets timers, frames and the list's measuring run (several rounds: each can start another). */
export async function settleLayout() {
  for (let i = 0; i < 12; i++) {
    await settle();
    await new Promise((r) => setTimeout(r, 20));
  }
}
