import { describe, expect, it } from 'vitest';
import { afterPaint } from '../paint';

function env(opts: { raf?: boolean; hidden?: boolean } = {}) {
  const frames: (() => void)[] = [];
  const timers: { cb: () => void; ms: number }[] = [];
  return {
    frames,
    timers,
    env: {
      requestAnimationFrame: opts.raf === false ? undefined : (cb: () => void) => frames.push(cb),
      setTimeout: (cb: () => void, ms: number) => timers.push({ cb, ms }),
      hidden: () => !!opts.hidden,
    },
  };
}

describe('afterPaint', () => {
  it('runs after the second animation frame (after the first paint), once', () => {
    const { frames, timers, env: e } = env();
    let runs = 0;
    afterPaint(() => runs++, 1000, e);
    frames.shift()!();
    expect(runs).toBe(0);
    frames.shift()!();
    expect(runs).toBe(1);
    timers.forEach((t) => t.cb()); // the fallback does not run it again
    expect(runs).toBe(1);
  });

  it('falls back to a timer when frames never come', () => {
    const { timers, env: e } = env();
    let runs = 0;
    afterPaint(() => runs++, 1000, e);
    expect(timers.map((t) => t.ms)).toEqual([1000]);
    timers[0].cb();
    expect(runs).toBe(1);
  });

  it('uses a timer at once when the page is hidden or has no requestAnimationFrame', () => {
    for (const opts of [{ hidden: true }, { raf: false }]) {
      const { frames, timers, env: e } = env(opts);
      let runs = 0;
      afterPaint(() => runs++, 1000, e);
      expect(frames).toHaveLength(0);
      expect(timers.map((t) => t.ms)).toEqual([0]);
      timers[0].cb();
      expect(runs).toBe(1);
    }
  });
});
