// The members of the groups the user writes in, as `conversation_members` gives them: for the
// composer's @mention picker, and the names the mentions in a group's messages are highlighted by.
// Loaded when first needed (an `@` typed, a message with mentions shown), kept per conversation,
// and loaded again once its members or manager change (its list item says so). Best effort: a
// failure is logged, and the picker offers nobody until a later try works.
import { SvelteMap } from 'svelte/reactivity';
import * as api from '../api';
import type { ConversationItem, MemberInfo } from '../api';

type Entry = { key: string; members: MemberInfo[] | null; loading: Promise<void> | null };

/** What the members depend on: who is in the group, and who manages it. */
const keyOf = (c: Pick<ConversationItem, 'userIds' | 'managerId'>) => `${c.managerId}|${c.userIds.join(',')}`;

export class MemberStore {
  private entries = new SvelteMap<string, Entry>();
  private generation = 0;

  /** The members of a conversation as last loaded (null: not loaded yet); reactive. */
  of(conversationId: string): MemberInfo[] | null {
    return this.entries.get(conversationId)?.members ?? null;
  }

  /**
   * Loads a conversation's members unless they are loaded (or on their way) for its current
   * members and manager. Resolves when done (a failure is only logged).
   */
  ensure(c: Pick<ConversationItem, 'id' | 'userIds' | 'managerId'>): Promise<void> {
    const key = keyOf(c);
    const held = this.entries.get(c.id);
    if (held && held.key === key && (held.members !== null || held.loading)) return held.loading ?? Promise.resolve();
    const generation = this.generation;
    const entry: Entry = { key, members: held?.members ?? null, loading: null };
    entry.loading = api
      .conversationMembers({ conversationId: c.id })
      .then((members) => {
        if (generation !== this.generation || this.entries.get(c.id) !== entry) return;
        this.entries.set(c.id, { key, members: Array.isArray(members) ? members : [], loading: null });
      })
      .catch((e) => {
        console.warn('[gtedx] conversation_members failed:', e);
        if (this.entries.get(c.id) === entry) this.entries.set(c.id, { key, members: entry.members, loading: null });
      });
    this.entries.set(c.id, entry);
    return entry.loading;
  }

  /** A conversation the user is no longer in: its members go. */
  remove(conversationId: string): void {
    this.entries.delete(conversationId);
  }

  reset(): void {
    this.generation++;
    this.entries.clear();
  }
}
