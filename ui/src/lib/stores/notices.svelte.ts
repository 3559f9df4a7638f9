// Notices that ask for a decision and stay until dismissed: "Tom (@tom) added you to “Club”",
// with Mute and Leave. One per group; gone with the group.
import type { ImEvent, UserInfo } from '../api';

export type AddedNotice = {
  /** Also the order the events arrived in. */
  id: number;
  conversationId: string;
  title: string;
  by: UserInfo;
};

/** The most notices shown at once (the newest; the others wait until some are dismissed). */
export const MAX_NOTICES = 4;

export class NoticeStore {
  /** Oldest first. */
  notices = $state.raw<AddedNotice[]>([]);
  /** The ones on screen: the newest `MAX_NOTICES`. */
  shown = $derived(this.notices.slice(-MAX_NOTICES));
  /**
   * Notices of groups the user left on this device while something about them was on its way:
   * shown (in their place) or dropped once the backend's list says whether the group is there.
   */
  private held = new Map<string, AddedNotice>();
  private seq = 0;

  /** An `addedToGroup` event: a notice (replacing an older one for the same group); `hold`: see `held`. */
  added(e: Extract<ImEvent, { kind: 'addedToGroup' }>, hold = false): void {
    const by: UserInfo = {
      uid: typeof e.by?.uid === 'string' ? e.by.uid : '',
      username: typeof e.by?.username === 'string' ? e.by.username : '',
      displayName: typeof e.by?.displayName === 'string' ? e.by.displayName : '',
    };
    const notice: AddedNotice = {
      id: ++this.seq,
      conversationId: e.conversationId,
      title: typeof e.title === 'string' ? e.title : '',
      by,
    };
    this.dropConversation(e.conversationId);
    if (hold) this.held.set(e.conversationId, notice);
    else this.notices = [...this.notices, notice];
  }

  dismiss(id: number): void {
    this.notices = this.notices.filter((n) => n.id !== id);
  }

  /** The user left the group here: its notice waits for `release` (see `held`). */
  hold(conversationId: string): void {
    const notice = this.notices.find((n) => n.conversationId === conversationId);
    if (!notice) return;
    this.notices = this.notices.filter((n) => n !== notice);
    this.held.set(conversationId, notice);
  }

  /** The backend's list has spoken: a held notice comes back in its place if the group is there. */
  release(conversationId: string, present: boolean): void {
    const notice = this.held.get(conversationId);
    if (!notice) return;
    this.held.delete(conversationId);
    if (!present) return;
    const rest = this.notices.filter((n) => n.conversationId !== conversationId);
    const at = rest.findIndex((n) => n.id > notice.id);
    this.notices = at === -1 ? [...rest, notice] : [...rest.slice(0, at), notice, ...rest.slice(at)];
  }

  /** The group is gone (left, removed): so is its notice. */
  dropConversation(conversationId: string): void {
    this.held.delete(conversationId);
    if (this.notices.some((n) => n.conversationId === conversationId)) {
      this.notices = this.notices.filter((n) => n.conversationId !== conversationId);
    }
  }

  reset(): void {
    this.notices = [];
    this.held.clear();
  }
}
