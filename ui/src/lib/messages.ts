// Merging, ordering and de-duplicating the messages of one conversation.
//
// A message is identified by its `clientId`, which stays the same from sending through the
// server's ack. Acked messages (with a `seq`) come first in `seq` order; messages not acked yet
// (own messages being sent, or failed) follow in timestamp order.
//
// A message also changes after it was sent: edited (`editedAt` grows) or recalled (for good).
// Copies of it reach the UI in any order (events, command answers, pages fetched before the
// change), so of two copies the later revision wins (see `compareRevisions`), whichever came last.
import type { UiMessage } from './api';

/** Total order of the message list. */
export function compareMessages(a: UiMessage, b: UiMessage): number {
  if (a.seq !== null && b.seq !== null) {
    return a.seq - b.seq || a.timestamp - b.timestamp || cmpStr(a.clientId, b.clientId);
  }
  if (a.seq !== null) return -1;
  if (b.seq !== null) return 1;
  return a.timestamp - b.timestamp || cmpStr(a.clientId, b.clientId);
}

function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * How two copies of the same message compare in age (> 0: `a` is the later revision, 0: neither
 * is known to be later). Acked is later than not acked; recalled later than anything not
 * recalled (a recall is final); then the later edit (`editedAt`, null: never edited).
 */
export function compareRevisions(a: UiMessage, b: UiMessage): number {
  if ((a.seq !== null) !== (b.seq !== null)) return a.seq !== null ? 1 : -1;
  if (a.recalled !== b.recalled) return a.recalled ? 1 : -1;
  return (a.editedAt ?? 0) - (b.editedAt ?? 0);
}

/**
 * Which of two versions of the same message (same `clientId`) to keep. The one that came last
 * wins, unless it is an older revision (`compareRevisions`): an acked message never goes back to a
 * version without a `seq` (a stale copy from a page loaded before the ack, for example), a
 * recalled one is never brought back, an edit never undone by a copy from before it.
 */
export function pickVersion(existing: UiMessage, incoming: UiMessage): UiMessage {
  return compareRevisions(existing, incoming) > 0 ? existing : incoming;
}

function sameMessage(a: UiMessage, b: UiMessage): boolean {
  return a.clientId === b.clientId || (a.id !== null && a.id === b.id);
}

/**
 * A message edited or recalled (a `messageUpdated` event, the answer of edit / recall): it
 * replaces the held copy with the same `seq` (or the same clientId / server id), unless that is
 * a later revision already. A message not held is not added (it belongs to a page not loaded, or
 * was deleted here): the same array is returned, as when nothing changes.
 */
export function applyUpdate(list: readonly UiMessage[], update: UiMessage): UiMessage[] {
  const idx = list.findIndex((m) => (update.seq !== null && m.seq === update.seq) || sameMessage(m, update));
  if (idx === -1) return list as UiMessage[];
  return upsertMessage(list, { ...update, clientId: list[idx].clientId });
}

/** The list without the message with this clientId (the same array when it is not there). */
export function removeMessage(list: readonly UiMessage[], clientId: string): UiMessage[] {
  const idx = list.findIndex((m) => m.clientId === clientId);
  if (idx === -1) return list as UiMessage[];
  return [...list.slice(0, idx), ...list.slice(idx + 1)];
}

/**
 * Inserts or updates one message, returning a new array (the input is not changed).
 * Fast path for the common case: a new message that sorts after the last one.
 */
export function upsertMessage(list: readonly UiMessage[], msg: UiMessage): UiMessage[] {
  const idx = list.findIndex((m) => sameMessage(m, msg));
  if (idx === -1) {
    const last = list[list.length - 1];
    if (!last || compareMessages(last, msg) <= 0) return [...list, msg];
    return mergeMessages(list, [msg]);
  }
  const chosen = pickVersion(list[idx], msg);
  if (chosen === list[idx]) return list as UiMessage[];
  const next = list.slice();
  next[idx] = chosen;
  const prev = next[idx - 1];
  const after = next[idx + 1];
  // Still in place (e.g. only the status changed)? Then no sort is needed.
  if ((!prev || compareMessages(prev, chosen) <= 0) && (!after || compareMessages(chosen, after) <= 0)) {
    return next;
  }
  return next.sort(compareMessages);
}

/** Merges any number of messages into a list: de-duplicated, ordered, input untouched. */
export function mergeMessages(list: readonly UiMessage[], incoming: readonly UiMessage[]): UiMessage[] {
  const byClient = new Map<string, UiMessage>();
  const byId = new Map<string, string>(); // server id -> clientId
  const put = (m: UiMessage) => {
    let key = m.clientId;
    if (!byClient.has(key) && m.id !== null && byId.has(m.id)) key = byId.get(m.id)!;
    const old = byClient.get(key);
    const chosen = old ? pickVersion(old, m) : m;
    byClient.set(key, chosen);
    if (chosen.id !== null) byId.set(chosen.id, key);
  };
  list.forEach(put);
  incoming.forEach(put);
  return [...byClient.values()].sort(compareMessages);
}

/** Smallest `seq` in the list (the `beforeSeq` for loading older history), or null. */
export function minSeq(list: readonly UiMessage[]): number | null {
  for (const m of list) if (m.seq !== null) return m.seq;
  return null;
}

/** Largest `seq` in the list (what to mark read), or null. */
export function maxSeq(list: readonly UiMessage[]): number | null {
  let max: number | null = null;
  for (const m of list) if (m.seq !== null && (max === null || m.seq > max)) max = m.seq;
  return max;
}

/** The largest `seq` below `limit` in the list, or null. */
function maxSeqBelow(list: readonly UiMessage[], limit: number): number | null {
  let below: number | null = null;
  for (const m of list) if (m.seq !== null && m.seq < limit && (below === null || m.seq > below)) below = m.seq;
  return below;
}

/**
 * Whether seqs are missing between `below` and `pageMin` (both excluded), not counting those
 * deleted on this device (`deleted`: they are missing from every page, and leave no hole).
 */
function missingBetween(below: number, pageMin: number, deleted: ReadonlySet<number>): boolean {
  for (let s = pageMin - 1; s > below; s--) if (!deleted.has(s)) return true;
  return false;
}

/**
 * Whether a freshly loaded newest page leaves a hole before it: we hold messages older than the
 * page, but the newest of those is not right before the page's first one (messages were missed,
 * e.g. while offline or after an event overflow). Then those older messages should be dropped
 * (scrolling up loads them again, without the hole). The seqs of messages deleted on this device
 * (`deleted`) are no hole.
 */
export function pageLeavesGap(
  list: readonly UiMessage[],
  page: readonly UiMessage[],
  pageHasMore: boolean,
  deleted: ReadonlySet<number> = new Set(),
): boolean {
  const pageMin = minSeq(page);
  if (pageMin === null || !pageHasMore) return false;
  const below = maxSeqBelow(list, pageMin);
  return below !== null && missingBetween(below, pageMin, deleted);
}

/**
 * Merges the newest page (`load_messages` with `beforeSeq: null`) into what we hold, by
 * `clientId` (and server id), never duplicating. Held messages older than the page stay (with
 * the held `hasMore`) when they join up with it; if the page leaves a hole before it they are
 * dropped, and `hasMore` then comes from the page. Unacked own messages and anything as new as
 * the page always stay. The seqs of messages deleted on this device (`deleted`) are no hole.
 */
export function mergeNewestPage(
  list: readonly UiMessage[],
  hasMore: boolean,
  page: { messages: readonly UiMessage[]; hasMore: boolean },
  deleted: ReadonlySet<number> = new Set(),
): { messages: UiMessage[]; hasMore: boolean } {
  const pageMin = minSeq(page.messages);
  if (pageMin === null) return { messages: mergeMessages(list, page.messages), hasMore };
  const below = maxSeqBelow(list, pageMin);
  if (below === null) return { messages: mergeMessages(list, page.messages), hasMore: page.hasMore };
  if (page.hasMore && missingBetween(below, pageMin, deleted)) {
    const keep = list.filter((m) => m.seq === null || m.seq >= pageMin);
    return { messages: mergeMessages(keep, page.messages), hasMore: page.hasMore };
  }
  return { messages: mergeMessages(list, page.messages), hasMore };
}
