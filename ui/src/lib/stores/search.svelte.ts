// The message search (Ctrl+F): the search box over the conversation list, its query, and the
// hits `search_messages` found for it. Asked once typing pauses (`SEARCH_DEBOUNCE_MS`); only the
// answer to the latest question counts: an answer that comes after the query changed (or was
// cleared, or the search closed) is dropped, so the hits shown are always the current query's.
// What a search means and how a hit is shown: ../highlight.ts.
import * as api from '../api';
import type { AppError, SearchHit } from '../api';
import { searchKey, searchTerms } from '../highlight';

/** The search is asked this long after the query last changed. */
export const SEARCH_DEBOUNCE_MS = 150;
/** How many hits are asked for (the newest). */
export const SEARCH_LIMIT = 200;

/**
 * `idle`: nothing to search (a blank query); `searching`: waiting for the pause or the answer;
 * `done`: `hits` are the query's; `error`: the search failed (`error` says why).
 */
export type SearchStatus = 'idle' | 'searching' | 'done' | 'error';

/** The hits of one conversation, newest first. */
export type SearchGroup = { conversationId: string; title: string; hits: SearchHit[] };

/**
 * The hits by conversation: the groups in the order of their newest hit, each hit once (by
 * conversation and clientId) in the order given (newest first).
 */
export function groupHits(hits: readonly SearchHit[]): SearchGroup[] {
  const groups = new Map<string, SearchGroup>();
  const seen = new Set<string>();
  const newest = new Map<string, number>();
  for (const hit of hits) {
    const id = hit.message.conversationId;
    const key = `${id}\u0000${hit.message.clientId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let group = groups.get(id);
    if (!group) {
      group = { conversationId: id, title: hit.conversationTitle, hits: [] };
      groups.set(id, group);
    }
    if (!group.title && hit.conversationTitle) group.title = hit.conversationTitle;
    group.hits.push(hit);
    newest.set(id, Math.max(newest.get(id) ?? -Infinity, hit.message.timestamp));
  }
  // (The backend gives the newest first; sorting keeps that true whatever the order given.)
  const list = [...groups.values()];
  for (const g of list) g.hits.sort((a, b) => b.message.timestamp - a.message.timestamp);
  return list.sort((a, b) => newest.get(b.conversationId)! - newest.get(a.conversationId)!);
}

export type Timers = {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
};

export type SearchDeps = {
  /** Asks the backend (default `search_messages` with `SEARCH_LIMIT`). */
  search?: (query: string) => Promise<SearchHit[]>;
  /** The pause before asking (default `SEARCH_DEBOUNCE_MS`). */
  delayMs?: number;
  /** Default: setTimeout / clearTimeout. */
  timers?: Timers;
};

const realTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class SearchStore {
  /** The search box shows (over the conversation list). */
  open = $state(false);
  /** What is typed in the box. */
  query = $state('');
  status = $state<SearchStatus>('idle');
  /** The hits of `resultKey` (the current query's; empty while searching). */
  hits = $state.raw<SearchHit[]>([]);
  /** The query (its `searchKey`) the hits or the error are about. */
  resultKey = $state('');
  error = $state.raw<AppError | null>(null);
  /** The hit the keyboard is on (its index in `flat`). */
  active = $state(0);

  /** The hits by conversation (see `groupHits`). */
  groups = $derived(groupHits(this.hits));
  /** The hits in the order shown (group after group): the order ↑ / ↓ move in. */
  flat = $derived(this.groups.flatMap((g) => g.hits));
  /** The terms of the query the hits are about (what is marked in them). */
  terms = $derived(searchTerms(this.resultKey));

  private readonly search: (query: string) => Promise<SearchHit[]>;
  private readonly delayMs: number;
  private readonly timers: Timers;
  /** The key of the latest query (asked, or to be asked after the pause). */
  private key = '';
  private timer: unknown = null;
  /** Bumped for every question (and to drop the one on its way): older answers are stale. */
  private asked = 0;

  constructor(deps: SearchDeps = {}) {
    this.search = deps.search ?? ((query) => api.searchMessages({ query, limit: SEARCH_LIMIT }));
    this.delayMs = deps.delayMs ?? SEARCH_DEBOUNCE_MS;
    this.timers = deps.timers ?? realTimers;
  }

  /** Shows the search box (what was typed stays). */
  show(): void {
    this.open = true;
  }

  /**
   * The query typed. A query meaning the same as the latest one (only spaces or letter case
   * differ) changes nothing; another one drops the hits and the question on its way, and asks
   * again after the pause; a blank one asks nothing.
   */
  setQuery(query: string): void {
    this.query = query;
    const key = searchKey(query);
    if (key === this.key) return;
    this.key = key;
    this.cancel();
    this.hits = [];
    this.error = null;
    this.resultKey = '';
    this.active = 0;
    if (!key) {
      this.status = 'idle';
      return;
    }
    this.status = 'searching';
    this.timer = this.timers.set(() => {
      this.timer = null;
      void this.ask(key, this.query); // (as typed by now: the same meaning, or the timer was dropped)
    }, this.delayMs);
  }

  /** Asks again now (after a failure). */
  retry(): void {
    if (!this.key) return;
    this.cancel();
    this.error = null;
    this.status = 'searching';
    void this.ask(this.key, this.query);
  }

  /** Empties the box (it stays open). */
  clear(): void {
    this.setQuery('');
  }

  /** Closes the search: the box empties, the question on its way is dropped. */
  close(): void {
    this.clear();
    this.open = false;
  }

  /** Moves the keyboard's hit by `step` (wrapping), or to `index`. */
  move(step: number): void {
    const n = this.flat.length;
    if (n === 0) return;
    this.active = (((this.activeIndex() + step) % n) + n) % n;
  }

  /** The index of the keyboard's hit in `flat` (-1: none). */
  activeIndex(): number {
    const n = this.flat.length;
    return n === 0 ? -1 : Math.min(Math.max(this.active, 0), n - 1);
  }

  private cancel(): void {
    this.asked++;
    if (this.timer !== null) this.timers.clear(this.timer);
    this.timer = null;
  }

  private async ask(key: string, query: string): Promise<void> {
    const mine = ++this.asked;
    try {
      const hits = await this.search(query.trim());
      if (mine !== this.asked) return;
      this.hits = hits;
      this.resultKey = key;
      this.status = 'done';
      this.active = 0;
    } catch (e) {
      if (mine !== this.asked) return;
      this.hits = [];
      this.resultKey = key;
      this.error = api.toAppError(e);
      this.status = 'error';
    }
  }
}
