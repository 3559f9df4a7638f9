// Running something once the browser has painted what was just rendered (for `ui_ready`, so the
// start-up measurement includes the first paint).

type PaintEnv = {
  requestAnimationFrame?: (cb: () => void) => unknown;
  setTimeout: (cb: () => void, ms: number) => unknown;
  hidden: () => boolean;
};

const defaultEnv = (): PaintEnv => ({
  requestAnimationFrame: typeof requestAnimationFrame === 'function' ? (cb) => requestAnimationFrame(cb) : undefined,
  setTimeout: (cb, ms) => setTimeout(cb, ms),
  hidden: () => typeof document !== 'undefined' && document.visibilityState === 'hidden',
});

/**
 * Calls `fn` once, after the next paint: a first animation frame callback runs before that
 * frame is painted, so the second one runs after it. A hidden page gets no animation frames, so
 * there (and without `requestAnimationFrame`) a timer is used; `fallbackMs` also guards against
 * frames that never come (a window that is not shown yet, for example).
 */
export function afterPaint(fn: () => void, fallbackMs = 1000, env: PaintEnv = defaultEnv()): void {
  let done = false;
  const run = () => {
    if (done) return;
    done = true;
    fn();
  };
  const raf = env.requestAnimationFrame;
  if (!raf || env.hidden()) {
    env.setTimeout(run, 0);
    return;
  }
  raf(() => raf(run));
  env.setTimeout(run, fallbackMs);
}
