// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest';
import { flushSync, mount, unmount } from 'svelte';
import MessageBubble from '../MessageBubble.svelte';
import { msg } from '../../lib/__tests__/fixtures';

let cleanup: (() => void)[] = [];
afterEach(() => {
  cleanup.forEach((f) => f());
  cleanup = [];
  document.body.innerHTML = '';
});

function render(props: { message: ReturnType<typeof msg>; showSender: boolean; read?: boolean }) {
  const target = document.createElement('div');
  document.body.append(target);
  const c = mount(MessageBubble, { target, props });
  flushSync();
  cleanup.push(() => unmount(c));
  return target;
}

describe('MessageBubble status', () => {
  it('own sent message: the "sent" tick, data-read="false"', () => {
    const el = render({ message: msg({ own: true, seq: 4 }), showSender: false });
    const status = el.querySelector('[data-testid="message-status"]')!;
    expect(status.getAttribute('data-read')).toBe('false');
    expect(status.querySelector('[role="img"]')?.getAttribute('aria-label')).toBe('Sent');
  });

  it('own message read by the peer: the "read" double tick', () => {
    const el = render({ message: msg({ own: true, seq: 4 }), showSender: false, read: true });
    const status = el.querySelector('[data-testid="message-status"]')!;
    expect(status.getAttribute('data-read')).toBe('true');
    expect(status.querySelector('[role="img"]')?.getAttribute('aria-label')).toBe('Read');
  });

  it('messages of others have no status', () => {
    const el = render({ message: msg({ own: false }), showSender: false });
    expect(el.querySelector('[data-testid="message-status"]')).toBeNull();
  });
});
