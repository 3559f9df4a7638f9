import { describe, expect, it, vi } from 'vitest';
import { installGlobalErrorHandlers, isBenign } from '../globalErrors';

function event(type: string, props: Record<string, unknown>): Event {
  const e = new Event(type, { cancelable: true });
  for (const [k, v] of Object.entries(props)) Object.defineProperty(e, k, { value: v });
  return e;
}

describe('global error handlers', () => {
  it('report unhandled rejections and uncaught errors instead of dropping them', () => {
    const target = new EventTarget();
    const report = vi.fn();
    const stop = installGlobalErrorHandlers(target, report);
    const rejection = event('unhandledrejection', { reason: { code: 'internal', message: 'lost' } });
    target.dispatchEvent(rejection);
    const boom = new TypeError('x is undefined');
    const error = event('error', { error: boom, message: 'Uncaught TypeError: x is undefined' });
    target.dispatchEvent(error);
    expect(report.mock.calls).toEqual([
      [{ code: 'internal', message: 'lost' }, 'unhandled rejection'],
      [boom, 'uncaught error'],
    ]);
    // Reported here, so the browser's own duplicate line is suppressed.
    expect(rejection.defaultPrevented).toBe(true);
    expect(error.defaultPrevented).toBe(true);

    stop();
    target.dispatchEvent(event('unhandledrejection', { reason: 'later' }));
    expect(report).toHaveBeenCalledTimes(2);
  });

  it('an error event without an error object reports its message', () => {
    const target = new EventTarget();
    const report = vi.fn();
    installGlobalErrorHandlers(target, report);
    target.dispatchEvent(event('error', { error: null, message: 'Script error.' }));
    expect(report).toHaveBeenCalledWith('Script error.', 'uncaught error');
  });

  it('ignores the ResizeObserver loop notice (browser noise, not an error of the app)', () => {
    const target = new EventTarget();
    const report = vi.fn();
    const debug = vi.spyOn(console, 'debug').mockImplementation(() => {});
    installGlobalErrorHandlers(target, report);
    target.dispatchEvent(event('error', { message: 'ResizeObserver loop completed with undelivered notifications.' }));
    target.dispatchEvent(event('error', { message: 'ResizeObserver loop limit exceeded' }));
    expect(report).not.toHaveBeenCalled();
    expect(isBenign('TypeError: ResizeObserver loop')).toBe(false);
    debug.mockRestore();
  });
});
