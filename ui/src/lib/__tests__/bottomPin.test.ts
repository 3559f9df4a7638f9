// The message view's pin to the bottom, the count of messages that came in while scrolled up and
// the "New messages" divider: examples, then random interleavings against a reference model on a
// simulated scroller (a virtual list with rows measured late).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AT_BOTTOM_PX, BottomPin, distanceToBottom, JUMP_SHOWN_PX, type ScrollMetrics } from '../bottomPin';

type Row = { clientId: string; own: boolean; height: number };

/**
 * A scroller holding a virtual list of rows, as the browser and virtua behave: content added or
 * measured below the viewport only makes it taller (no scroll event); a row measured above the
 * viewport moves `scrollTop` by as much (virtua keeps what is shown in place: a scroll event); so
 * does a page of older history added above (`shift`); `scrollTop` is clamped to the content.
 */
class SimScroller {
  rows: Row[] = [];
  scrollTop = 0;
  constructor(readonly clientHeight = 500) {}
  get scrollHeight(): number {
    return Math.max(this.clientHeight, this.rows.reduce((sum, r) => sum + r.height, 0));
  }
  metrics(): ScrollMetrics {
    return { scrollTop: this.scrollTop, scrollHeight: this.scrollHeight, clientHeight: this.clientHeight };
  }
  get maxTop(): number {
    return this.scrollHeight - this.clientHeight;
  }
  /** Scrolls (clamped); true when `scrollTop` moved, i.e. a scroll event fires. */
  scrollTo(top: number): boolean {
    const next = Math.min(Math.max(0, top), this.maxTop);
    if (next === this.scrollTop) return false;
    this.scrollTop = next;
    return true;
  }
  /** After the content shrank: the browser clamps `scrollTop` (a scroll event if it moved). */
  clamp(): boolean {
    return this.scrollTo(this.scrollTop);
  }
  rowTop(index: number): number {
    return this.rows.slice(0, index).reduce((sum, r) => sum + r.height, 0);
  }
}

let ids = 0;
const row = (own: boolean, height: number): Row => ({ clientId: `m${++ids}`, own, height });

/** A message list component on a simulated scroller, doing what MessageList.svelte does with the pin. */
function harness(initial: number) {
  const view = new SimScroller();
  const pin = new BottomPin();
  /** A scroll to the bottom was asked for; it happens at the next animation frame. */
  let pending = false;
  const scrolled = () => pin.scrolled(view.metrics());
  const resized = () => {
    if (pin.contentResized(view.metrics())) pending = true;
  };
  /** New messages: counted, and once their rows are in the DOM the content's new size is reported. */
  const messagesChanged = () => {
    if (pin.messagesChanged(view.rows)) pending = true;
    resized();
  };
  const open = (count: number) => {
    view.rows = Array.from({ length: count }, () => row(false, 60));
    view.scrollTop = 0;
    pin.reset();
    messagesChanged();
    frame();
  };
  const frame = () => {
    if (pending && pin.pinned && view.scrollTo(view.maxTop)) scrolled();
    pending = false;
  };
  open(initial);
  return {
    view,
    pin,
    open,
    frame,
    incoming(heights: number[], own = false) {
      view.rows = [...view.rows, ...heights.map((h) => row(own, h))];
      messagesChanged();
    },
    send(height: number) {
      pin.sent();
      view.rows = [...view.rows, row(true, height)];
      messagesChanged();
      pending = true;
    },
    userScroll(dy: number): boolean {
      const moved = view.scrollTo(view.scrollTop + dy);
      if (moved) scrolled();
      return moved;
    },
    /** A row's real height arrives (it was rendered with an estimate). */
    measured(index: number, height: number) {
      const r = view.rows[index];
      const delta = height - r.height;
      const above = view.rowTop(index) + r.height <= view.scrollTop;
      view.rows = view.rows.map((x, i) => (i === index ? { ...x, height } : x));
      if (above ? view.scrollTo(view.scrollTop + delta) : view.clamp()) scrolled();
      resized();
    },
    older(heights: number[]) {
      const added = heights.map((h) => row(false, h));
      view.rows = [...added, ...view.rows];
      if (view.scrollTo(view.scrollTop + added.reduce((sum, r) => sum + r.height, 0))) scrolled();
      messagesChanged();
    },
    jump() {
      pin.jumpToBottom();
      pending = true;
    },
  };
}

describe('the message view pinned to the bottom', () => {
  it('a burst at the bottom keeps it there, also with rows measured taller after the scroll', () => {
    const h = harness(30);
    expect(distanceToBottom(h.view.metrics())).toBe(0);
    h.incoming(Array(20).fill(60));
    // Before the frame's scroll, a row above the viewport is measured taller: virtua moves
    // scrollTop down with it while the content below still waits. Not the user: still pinned.
    const firstNew = h.view.rows.length - 20;
    const top = h.view.scrollTop;
    h.measured(firstNew - 10, 200);
    expect(h.view.scrollTop).toBe(top + 140);
    expect(h.pin.pinned).toBe(true);
    h.frame();
    expect(distanceToBottom(h.view.metrics())).toBe(0);
    h.measured(h.view.rows.length - 1, 300); // the newest, in view, measured late
    h.frame();
    expect(distanceToBottom(h.view.metrics())).toBe(0);
    expect(h.pin.unseen).toBe(0);
    expect(h.pin.jumpVisible).toBe(false);
  });

  it('50 messages into a short chat end at the bottom', () => {
    const h = harness(2);
    expect(h.view.scrollHeight).toBe(h.view.clientHeight); // nothing to scroll
    for (let i = 0; i < 50; i++) h.incoming([70]);
    h.frame();
    expect(distanceToBottom(h.view.metrics())).toBe(0);
  });

  it('scrolled up, it stays where it is: new messages are counted, the divider goes above the first', () => {
    const h = harness(30);
    h.userScroll(-300);
    expect(h.pin.pinned).toBe(false);
    const top = h.view.scrollTop;
    h.incoming([60, 60]);
    const first = h.view.rows[h.view.rows.length - 2].clientId;
    h.incoming([60], true); // my own, from another device: not counted
    h.incoming([60]);
    h.frame();
    expect(h.view.scrollTop).toBe(top);
    expect(h.pin.unseen).toBe(3);
    expect(h.pin.dividerBefore).toBe(first);
    expect(h.pin.jumpVisible).toBe(true);
  });

  it('back at the bottom the count clears and the divider stays; the next time it moves; sending takes it away', () => {
    const h = harness(30);
    h.userScroll(-300);
    h.incoming([60]);
    const first = h.pin.dividerBefore;
    h.userScroll(10_000);
    expect(h.pin).toMatchObject({ pinned: true, unseen: 0, dividerBefore: first });
    h.userScroll(-400);
    h.incoming([60, 60]);
    expect(h.pin.dividerBefore).toBe(h.view.rows[h.view.rows.length - 2].clientId);
    h.send(60);
    h.frame();
    expect(h.pin).toMatchObject({ pinned: true, unseen: 0, dividerBefore: null });
    expect(distanceToBottom(h.view.metrics())).toBe(0);
  });

  it('the ↓ button shows far up or with new messages, and takes the view down', () => {
    const h = harness(40);
    h.userScroll(-200);
    expect(h.pin.jumpVisible).toBe(false); // near, nothing new
    h.userScroll(-(JUMP_SHOWN_PX + 1));
    expect(h.pin.jumpVisible).toBe(true); // far
    h.jump();
    h.frame();
    expect(h.pin.jumpVisible).toBe(false);
    expect(distanceToBottom(h.view.metrics())).toBe(0);
  });

  it('older history loaded above is not counted and does not move what is shown', () => {
    const h = harness(30);
    h.userScroll(-1000);
    const shownTop = h.view.scrollTop - h.view.rowTop(0);
    h.older(Array(50).fill(60));
    expect(h.pin.unseen).toBe(0);
    expect(h.view.scrollTop - h.view.rowTop(50)).toBe(shownTop);
  });

  it('another conversation opens at the bottom with nothing counted', () => {
    const h = harness(30);
    h.userScroll(-500);
    h.incoming([60]);
    h.open(12);
    expect(h.pin).toMatchObject({ pinned: true, unseen: 0, dividerBefore: null });
    expect(distanceToBottom(h.view.metrics())).toBe(0);
  });
});

// --- random interleavings against a reference model ----------------------------------------------

type Step =
  | { kind: 'incoming'; heights: number[] }
  | { kind: 'ownElsewhere'; height: number }
  | { kind: 'send'; height: number }
  | { kind: 'scroll'; dy: number }
  | { kind: 'measured'; at: number; height: number }
  | { kind: 'older'; count: number }
  | { kind: 'jump' }
  | { kind: 'switch'; count: number }
  | { kind: 'frame' };

const height = fc.integer({ min: 30, max: 400 });
const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: fc.record({ kind: fc.constant('incoming' as const), heights: fc.array(height, { minLength: 1, maxLength: 25 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('ownElsewhere' as const), height }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('send' as const), height }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('scroll' as const), dy: fc.integer({ min: -2000, max: 2000 }) }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('measured' as const), at: fc.nat(), height }), weight: 5 },
  { arbitrary: fc.record({ kind: fc.constant('older' as const), count: fc.integer({ min: 1, max: 50 }) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'jump' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('switch' as const), count: fc.nat(40) }), weight: 1 },
  { arbitrary: fc.constant({ kind: 'frame' as const }), weight: 4 },
);

/**
 * What the user expects: the view is pinned unless their own last scroll left it above the bottom
 * (and since then it has not been found at the bottom, and they have not sent something, clicked ↓
 * or opened another conversation); while it is not pinned, every message from someone else is
 * counted, and the divider marks the first of them.
 */
type Reference = { pinned: boolean; unseen: number; divider: string | null };

/** Cases per run: 500 normally; `UI_MODEL_CASES=20000 npm test` for a long run. */
const CASES = Number(process.env.UI_MODEL_CASES) || 500;

describe('the pin against a reference model (random interleavings)', () => {
  it('follows the user, never a layout change; pinned views end at the bottom, others do not move', () => {
    fc.assert(
      fc.property(fc.nat(40), fc.array(step, { maxLength: 60 }), (initial, steps) => {
        const h = harness(initial);
        let ref: Reference = { pinned: true, unseen: 0, divider: null };
        for (const s of steps) {
          const topBefore = h.view.scrollTop;
          switch (s.kind) {
            case 'incoming': {
              const first = h.view.rows.length;
              h.incoming(s.heights);
              if (!ref.pinned) {
                if (ref.unseen === 0) ref.divider = h.view.rows[first].clientId;
                ref.unseen += s.heights.length;
              }
              break;
            }
            case 'ownElsewhere':
              h.incoming([s.height], true);
              break;
            case 'send':
              h.send(s.height);
              ref = { pinned: true, unseen: 0, divider: null };
              break;
            case 'scroll': {
              if (!h.userScroll(s.dy)) break;
              const atBottom = distanceToBottom(h.view.metrics()) <= AT_BOTTOM_PX;
              if (atBottom) ref = { ...ref, pinned: true, unseen: 0 };
              else if (s.dy < 0) ref = { ...ref, pinned: false };
              break;
            }
            case 'measured':
              if (h.view.rows.length) h.measured(s.at % h.view.rows.length, s.height);
              break;
            case 'older':
              h.older(Array(s.count).fill(60));
              break;
            case 'jump':
              if (!h.pin.jumpVisible) break;
              h.jump();
              ref = { ...ref, pinned: true, unseen: 0 };
              break;
            case 'switch':
              h.open(s.count);
              ref = { pinned: true, unseen: 0, divider: null };
              break;
            case 'frame':
              h.frame();
              if (ref.pinned) expect(distanceToBottom(h.view.metrics()), 'a pinned view ends at the bottom').toBeLessThanOrEqual(AT_BOTTOM_PX);
              break;
          }
          // Wherever the view is found at the bottom (after any step something looked), it is pinned.
          if (distanceToBottom(h.view.metrics()) <= AT_BOTTOM_PX) ref = { ...ref, pinned: true, unseen: 0 };
          expect(h.pin.pinned, `pinned after ${s.kind}`).toBe(ref.pinned);
          expect(h.pin.unseen, `count after ${s.kind}`).toBe(ref.unseen);
          expect(h.pin.dividerBefore, `divider after ${s.kind}`).toBe(ref.divider);
          if (!ref.pinned && (s.kind === 'incoming' || s.kind === 'ownElsewhere' || s.kind === 'frame')) {
            expect(h.view.scrollTop, 'a view scrolled up does not move').toBe(topBefore);
          }
          if (ref.pinned) expect(h.pin.jumpVisible).toBe(false);
          else if (ref.unseen > 0) expect(h.pin.jumpVisible).toBe(true);
        }
        h.frame();
        if (ref.pinned) expect(distanceToBottom(h.view.metrics())).toBeLessThanOrEqual(AT_BOTTOM_PX);
      }),
      { numRuns: CASES },
    );
  }, 10_000 + CASES * 2);
});

describe('leaving the bottom on purpose (a jump to a search hit)', () => {
  const m = (scrollTop: number): ScrollMetrics => ({ scrollTop, scrollHeight: 10_000, clientHeight: 500 });
  const msgs = (ids: string[]) => ids.map((clientId) => ({ clientId, own: false }));

  it('stays where it is put: rows measured below do not bring it back, new messages are counted, the ↓ button shows', () => {
    const pin = new BottomPin();
    pin.messagesChanged(msgs(['a', 'b']));
    pin.contentResized(m(9_500));
    pin.leaveBottom();
    expect(pin.pinned).toBe(false);
    expect(pin.contentResized({ scrollTop: 9_500, scrollHeight: 10_400, clientHeight: 500 }), 'no snapping back').toBe(false);
    pin.scrolled(m(2_000)); // the jump
    expect(pin.jumpVisible).toBe(true);
    expect(pin.messagesChanged(msgs(['a', 'b', 'c']))).toBe(false);
    expect(pin.unseen).toBe(1);
    pin.scrolled(m(2_100)); // reading on, down a little
    expect(pin.pinned).toBe(false);
    pin.jumpToBottom();
    expect(pin.pinned).toBe(true);
    expect(pin.unseen).toBe(0);
  });

  it('a message jumped to that is at the bottom anyway: pinned again by the scroll there', () => {
    const pin = new BottomPin();
    pin.leaveBottom();
    pin.scrolled(m(9_480));
    expect(pin.pinned).toBe(true);
  });
});
