// Owns what keeps the message view at its newest messages: whether the view is pinned to the
// bottom (the user is there, so new messages and rows measured late keep it there), how many
// messages came in since the user scrolled up (the count on the ↓ button), and where the "New
// messages" divider goes. Plain state driven by the message list's events (messages changed,
// scrolled, resized, sent, jump), so that it is tested without a browser; the component only
// scrolls when told to.
import type { UiMessage } from './api';

/** Within this distance of the bottom (px) the view counts as at the bottom. */
export const AT_BOTTOM_PX = 48;
/** This far from the bottom (px) the ↓ button shows even when nothing new came in. */
export const JUMP_SHOWN_PX = 600;

/** What the scroller says about itself (its `scrollTop`, `scrollHeight` and `clientHeight`). */
export type ScrollMetrics = { scrollTop: number; scrollHeight: number; clientHeight: number };

/** How far the bottom of the content is below the bottom of the viewport. */
export function distanceToBottom(m: ScrollMetrics): number {
  return m.scrollHeight - m.clientHeight - m.scrollTop;
}

export class BottomPin {
  /** The view follows new messages: the user is at the bottom, as far as they are concerned. */
  pinned = true;
  /** Messages from others that came in since the user scrolled up (the ↓ button's count). */
  unseen = 0;
  /**
   * The first message that came in while the user was scrolled up: the "New messages" divider goes
   * above it. It stays when the user comes back down (it shows where the new ones began) and moves
   * when the next ones come in while scrolled up again; sending something, or another
   * conversation, takes it away.
   */
  dividerBefore: string | null = null;
  /** The view is far from the bottom: the ↓ button shows even with nothing new. */
  far = false;

  /** The messages seen so far (by clientId): new ones at the end are incoming, at the start older history. */
  private known = new Set<string>();
  /** The scroller at the last scroll or resize. */
  private last: ScrollMetrics | null = null;

  /** The ↓ button shows. */
  get jumpVisible(): boolean {
    return !this.pinned && (this.unseen > 0 || this.far);
  }

  /**
   * The conversation's messages now (a message came in, an own one was sent or acked, an older page
   * was loaded). True when the view must be scrolled to the bottom: it is pinned and messages were
   * added after the ones it had (or are the first shown). Messages from others added while not
   * pinned are counted.
   */
  messagesChanged(messages: readonly Pick<UiMessage, 'clientId' | 'own'>[]): boolean {
    const firstKnown = messages.findIndex((m) => this.known.has(m.clientId));
    let appended = false;
    let firstIncoming: string | null = null;
    let incoming = 0;
    for (const [i, m] of messages.entries()) {
      if (this.known.has(m.clientId)) continue;
      this.known.add(m.clientId);
      if (i < firstKnown) continue; // older history loaded above: nothing came in
      appended = true;
      if (firstKnown === -1 || m.own) continue; // the first messages shown; the user's own
      firstIncoming ??= m.clientId;
      incoming++;
    }
    if (!this.pinned && firstIncoming !== null) {
      if (this.unseen === 0) this.dividerBefore = firstIncoming;
      this.unseen += incoming;
    }
    return this.pinned && appended;
  }

  /**
   * A scroll event. At the bottom (within `AT_BOTTOM_PX`) the view is pinned and the count
   * cleared. It is unpinned only by a move up, away from the end of the content: the user
   * scrolling. Rows measured above the viewport move `scrollTop` together with the content's
   * height (the virtual list keeps what is shown in place), and rows added or measured below only
   * make the content taller; neither is the user leaving the bottom, so neither unpins it.
   */
  scrolled(m: ScrollMetrics): void {
    const before = this.last;
    if (this.observe(m) || before === null) return;
    const movedUp = m.scrollTop < before.scrollTop;
    const awayFromEnd = m.scrollHeight - m.scrollTop > before.scrollHeight - before.scrollTop;
    if (movedUp && awayFromEnd) this.pinned = false;
  }

  /**
   * The content or the viewport changed size: rows were added (reported once they are in the
   * DOM) or measured, or the window was resized. True when the view must be scrolled to the
   * bottom again (it is pinned, and the content grew below it). The metrics are the reference for
   * the next scroll event, so content that grew below is not mistaken for the user scrolling up.
   */
  contentResized(m: ScrollMetrics): boolean {
    this.observe(m);
    return this.pinned && distanceToBottom(m) > 0;
  }

  /** Takes in where the view is; true when that is at the bottom (which pins it). */
  private observe(m: ScrollMetrics): boolean {
    this.last = m;
    const distance = distanceToBottom(m);
    this.far = distance > JUMP_SHOWN_PX;
    if (distance > AT_BOTTOM_PX) return false;
    this.pinned = true;
    this.unseen = 0;
    return true;
  }

  /** The ↓ button: to the bottom, the count cleared (the component scrolls there). */
  jumpToBottom(): void {
    this.pinned = true;
    this.unseen = 0;
    this.far = false;
  }

  /**
   * The view is taken away from the bottom on purpose (to a message jumped to, e.g. a search
   * hit): it stays where it is put, and new messages are counted, until the user comes back down
   * (scrolling, or the ↓ button).
   */
  leaveBottom(): void {
    this.pinned = false;
  }

  /** The user sent a message: it always shows, at the bottom; the divider has done its job. */
  sent(): void {
    this.jumpToBottom();
    this.dividerBefore = null;
  }

  /** Another conversation: it opens at the bottom, nothing counted, these messages already there. */
  reset(messages: readonly Pick<UiMessage, 'clientId'>[] = []): void {
    this.pinned = true;
    this.unseen = 0;
    this.dividerBefore = null;
    this.far = false;
    this.known = new Set(messages.map((m) => m.clientId));
    this.last = null;
  }
}
