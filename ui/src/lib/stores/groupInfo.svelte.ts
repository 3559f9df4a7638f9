// The state of the "Group info" dialog of one group: the group (its latest `conversation` copy),
// its members (`conversation_members`), and the changes made from it (title, remark, adding and
// removing members).
//
// The member list shown is always a whole answer of the backend, and the newest one asked for
// that has arrived: an answer overtaken by a later one is dropped. It is asked for again after
// every change made here and whenever a `conversation` event says the members (or the manager)
// are not those shown (a change from another device or another member), so once the answers are
// in it is the backend's latest. A command that fails changes nothing here.
import * as api from '../api';
import type { AppError, ConversationItem, MemberInfo } from '../api';
import { addOutcome, remarkProblem, sortMembers, titleProblem, type AddOutcome } from '../groupInfo';

export type CommandResult = { ok: true; item: ConversationItem } | { ok: false; error: AppError };
/** An add: whether it succeeded, and who of those asked for was added, who was not, who was in already. */
export type AddResult = ({ ok: true } | { ok: false; error: AppError }) & AddOutcome & { alreadyMembers: string[] };

/** A local refusal (the backend's code for it), before anything is sent. */
const tooLong = (what: string, max: number): AppError => ({ code: 'field_too_long', message: `the ${what} is longer than ${max} characters` });

function sameMembership(members: readonly MemberInfo[], item: ConversationItem): boolean {
  if (members.length !== item.userIds.length) return false;
  const ids = new Set(item.userIds);
  return members.every((m) => ids.has(m.uid) && m.manager === (m.uid === item.managerId));
}

export class GroupInfoStore {
  /** The group's latest copy (from events and the answers of the changes made here). */
  conversation = $state.raw<ConversationItem | null>(null);
  /** The members, sorted (the manager, the user, then by name). */
  members = $state.raw<MemberInfo[]>([]);
  /** A member list has arrived. */
  loaded = $state(false);
  /** A member list is on its way. */
  loading = $state(false);
  /** Why the newest member list asked for failed (null once one arrives). */
  loadError = $state.raw<AppError | null>(null);
  /** The user is no longer in the group (it was removed from the list). */
  gone = $state(false);
  /** The user manages the group (may add and remove members). */
  isManager = $derived.by(() => {
    const me = this.myUid();
    if (this.conversation && me) return this.conversation.managerId === me;
    return this.members.some((m) => m.me && m.manager);
  });

  private asked = 0;
  private applied = 0;
  /** One per change in flight: whether a `conversation` event of the group came meanwhile. */
  private journals = new Set<{ seen: boolean }>();
  private disposed = false;

  constructor(
    readonly conversationId: string,
    initial: ConversationItem | null,
    private readonly myUid: () => string | null,
  ) {
    this.conversation = initial;
  }

  /**
   * Asks for the member list; it is shown unless a later one arrived first. Resolves to the list
   * the backend gave (shown or not), or null when it failed.
   */
  async load(): Promise<MemberInfo[] | null> {
    const n = ++this.asked;
    this.loading = true;
    try {
      const list = await api.conversationMembers({ conversationId: this.conversationId });
      if (!this.disposed && n > this.applied) {
        this.applied = n;
        this.members = sortMembers(Array.isArray(list) ? list : []);
        this.loaded = true;
        this.loadError = null;
      }
      return list;
    } catch (e) {
      if (!this.disposed && n > this.applied && n === this.asked) this.loadError = api.toAppError(e);
      return null;
    } finally {
      if (n === this.asked) this.loading = false;
    }
  }

  /** A `conversation` event (of any conversation). */
  conversationEvent(item: ConversationItem): void {
    if (item.id !== this.conversationId || this.disposed) return;
    for (const j of this.journals) j.seen = true;
    this.conversation = item;
    // (A busy group sends one for every message: the members are asked for only when they differ,
    // or when a list asked for before this event may still arrive.)
    if (!this.loaded || this.asked !== this.applied || !sameMembership(this.members, item)) void this.load();
  }

  /** The group went from the user's list (left, removed). */
  removed(): void {
    this.gone = true;
  }

  /** The dialog closed: answers that arrive later change nothing. */
  dispose(): void {
    this.disposed = true;
  }

  /** Renames the group (`''`: no title; the members' names are shown). Trimmed; checked before sending. */
  rename(title: string): Promise<CommandResult> {
    const value = title.trim();
    if (titleProblem(value)) return Promise.resolve({ ok: false, error: tooLong('title', api.GROUP_TITLE_MAX) });
    return this.change(() => api.updateConversation({ conversationId: this.conversationId, title: value }));
  }

  /** Sets the remark (`''` clears it). Trimmed; checked before sending. */
  setRemark(remark: string): Promise<CommandResult> {
    const value = remark.trim();
    if (remarkProblem(value)) return Promise.resolve({ ok: false, error: tooLong('remark', api.GROUP_REMARK_MAX) });
    return this.change(() => api.updateConversation({ conversationId: this.conversationId, remark: value }));
  }

  /** Removes a member (the manager only). */
  remove(uid: string): Promise<CommandResult> {
    return this.change(() => api.removeMember({ conversationId: this.conversationId, uid }), true);
  }

  /**
   * Adds people by username (as `parseUsernames` gives them). Whatever happens, the member list is
   * asked for again, and the result says who of them is a member now and was not before.
   */
  async add(usernames: readonly string[]): Promise<AddResult> {
    const asked = [...usernames];
    const before = this.members;
    const alreadyMembers = asked.filter((u) => before.some((m) => m.username.toLowerCase() === u));
    const fresh = asked.filter((u) => !alreadyMembers.includes(u));
    const result = await this.change(() => api.addMembers({ conversationId: this.conversationId, usernames: asked }), false);
    const after = this.disposed ? null : await this.load();
    const outcome = addOutcome(fresh, before, after ?? before);
    return result.ok ? { ok: true, ...outcome, alreadyMembers } : { ok: false, error: result.error, ...outcome, alreadyMembers };
  }

  private async change(run: () => Promise<ConversationItem>, reload = true): Promise<CommandResult> {
    const meanwhile = { seen: false };
    this.journals.add(meanwhile);
    let item: ConversationItem;
    try {
      item = await run();
    } catch (e) {
      return { ok: false, error: api.toAppError(e) };
    } finally {
      this.journals.delete(meanwhile);
    }
    // (An event of the group that came meanwhile is as new as the answer, or newer.)
    if (!this.disposed && !meanwhile.seen && item.id === this.conversationId) this.conversation = item;
    if (reload && !this.disposed) await this.load();
    return { ok: true, item };
  }
}
