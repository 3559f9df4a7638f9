// Errors nobody caught (a rejected promise without a handler, an exception in an event handler or
// a timer) would otherwise vanish, or at best reach a console nobody reads in the desktop app:
// they become a toast (and a console.error with the stack).

type ErrorTarget = Pick<EventTarget, 'addEventListener' | 'removeEventListener'>;

/**
 * Browser noise that is not an error of the app: a ResizeObserver callback that changed the layout
 * again (the virtual lists do, harmlessly) makes Chromium and WebKit report this on `window`.
 */
export function isBenign(message: string | undefined): boolean {
  return !!message && /^ResizeObserver loop (completed with undelivered notifications|limit exceeded)/.test(message);
}

/**
 * Listens to `unhandledrejection` and `error` on `target` (the window) and hands what they carry
 * to `report` (which logs and shows a toast). Returns the function that stops listening.
 */
export function installGlobalErrorHandlers(target: ErrorTarget, report: (error: unknown, context: string) => void): () => void {
  const onRejection = (e: Event) => {
    const reason = (e as PromiseRejectionEvent).reason;
    // Reported (and logged) here: the browser's own "Uncaught (in promise)" line would be a duplicate.
    e.preventDefault();
    report(reason, 'unhandled rejection');
  };
  const onError = (e: Event) => {
    const ev = e as ErrorEvent;
    if (isBenign(ev.message)) {
      console.debug('[gtedx] ignored:', ev.message);
      return;
    }
    e.preventDefault();
    report(ev.error ?? ev.message, 'uncaught error');
  };
  target.addEventListener('unhandledrejection', onRejection);
  target.addEventListener('error', onError);
  return () => {
    target.removeEventListener('unhandledrejection', onRejection);
    target.removeEventListener('error', onError);
  };
}
