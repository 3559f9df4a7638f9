// The people the user blocks: loaded with `blocked_users` (after signing in, when the connection
// comes back, on `resync`, and when the "Blocked users" dialog opens), kept up to date by
// `blockChanged` events, and changed with block_user / unblock_user. The merging rules live in
// `../privacy.ts`.
import * as api from '../api';
import type { Account, AppError, UserInfo } from '../api';
import { applyBlock, isOfflineError, mergeBlocked, type BlockJournal } from '../privacy';
import type { ToastStore } from './toasts.svelte';

export type BlockDeps = {
  toasts: ToastStore;
  account(): Account | null;
  /** What the UI knows of someone (a 1:1 peer…), to name a person blocked elsewhere. */
  person(uid: string): UserInfo | null;
};

export class BlockStore {
  /** The blocked people, most recently blocked first (names may be '' until the next load). */
  list = $state.raw<UserInfo[]>([]);
  /** Their uids. */
  blocked = $derived(new Set(this.list.map((u) => u.uid)));
  /** A load has succeeded for this account (the list is the backend's). */
  loaded = $state(false);
  loading = $state(false);
  /** Why the last load failed (null after a success). */
  error = $state.raw<AppError | null>(null);

  /**
   * One per `blocked_users` or block / unblock in flight: the `blockChanged` events that arrived
   * meanwhile (by uid). An answer never undoes an event that overtook it.
   */
  private loadJournals = new Set<BlockJournal>();
  private commandJournals = new Set<Set<string>>();
  private running: Promise<boolean> | null = null;
  private again = false;
  private againLoud = false;
  /** Try the running load once more if it fails (the connection came back meanwhile). */
  private retryOnFail = false;

  constructor(private readonly deps: BlockDeps) {}

  isBlocked(uid: string | null | undefined): boolean {
    return !!uid && this.blocked.has(uid);
  }

  /**
   * Loads the blocked list (one load at a time; asked for again while one runs, it runs once more
   * afterwards). `quiet` (a load in the background): a failure for want of a connection is only
   * logged, it is tried again when the connection comes back. Resolves to whether it succeeded.
   */
  load(opts: { quiet?: boolean } = {}): Promise<boolean> {
    if (!this.deps.account()) return Promise.resolve(false);
    if (this.running) {
      this.again = true;
      this.againLoud ||= !opts.quiet;
      return this.running;
    }
    const run = async (): Promise<boolean> => {
      let ok = false;
      let quiet = opts.quiet === true;
      do {
        this.again = false;
        ok = await this.loadOnce(quiet);
        if (!ok && this.retryOnFail) this.again = true;
        this.retryOnFail = false;
        quiet = !this.againLoud;
        this.againLoud = false;
      } while (this.again && this.deps.account());
      return ok;
    };
    this.loading = true;
    this.running = run().finally(() => {
      this.running = null;
      this.loading = false;
    });
    return this.running;
  }

  /**
   * Signed in, or the connection is back: loads the list in the background unless a load has
   * succeeded already (or one is on its way: then it is tried once more if it fails).
   */
  ensureLoaded(): void {
    if (this.loaded || !this.deps.account()) return;
    if (this.running) this.retryOnFail = true;
    else void this.load({ quiet: true });
  }

  private async loadOnce(quiet: boolean): Promise<boolean> {
    const account = this.deps.account();
    const journal: BlockJournal = new Map();
    this.loadJournals.add(journal);
    try {
      const users = await api.blockedUsers();
      if (this.deps.account() !== account) return false;
      this.list = mergeBlocked(Array.isArray(users) ? users : [], journal);
      this.loaded = true;
      this.error = null;
      return true;
    } catch (e) {
      if (this.deps.account() !== account) return false;
      const err = api.toAppError(e);
      this.error = err;
      if (quiet) {
        console.warn('[gtedx] blocked_users failed:', err);
        if (!isOfflineError(err)) this.deps.toasts.show(err);
      } else {
        this.deps.toasts.show(err);
      }
      return false;
    } finally {
      this.loadJournals.delete(journal);
    }
  }

  /** Blocks someone; false (with a toast) when the backend refused. */
  block(user: UserInfo): Promise<boolean> {
    return this.command(user.uid, true, user);
  }

  /** Unblocks someone; false (with a toast) when the backend refused. */
  unblock(uid: string): Promise<boolean> {
    return this.command(uid, false, null);
  }

  private async command(uid: string, blocked: boolean, user: UserInfo | null): Promise<boolean> {
    const account = this.deps.account();
    const meanwhile = new Set<string>();
    this.commandJournals.add(meanwhile);
    try {
      await (blocked ? api.blockUser({ uid }) : api.unblockUser({ uid }));
      // The backend also sends a `blockChanged` event; if it (or a later one) came first, it wins.
      if (this.deps.account() === account && !meanwhile.has(uid)) this.apply(uid, blocked, user);
      return true;
    } catch (e) {
      if (this.deps.account() === account) this.deps.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.commandJournals.delete(meanwhile);
    }
  }

  /** A `blockChanged` event (from this device or another one). */
  changed(uid: string, blocked: boolean): void {
    for (const j of this.commandJournals) j.add(uid);
    this.apply(uid, blocked, null);
  }

  private apply(uid: string, blocked: boolean, user: UserInfo | null): void {
    const named = user ?? (blocked ? this.deps.person(uid) : null);
    for (const j of this.loadJournals) {
      j.delete(uid); // (re-inserted: the journal keeps the order things happened in)
      j.set(uid, { blocked, user: named });
    }
    this.list = applyBlock(this.list, uid, blocked, named);
  }

  reset(): void {
    this.list = [];
    this.loaded = false;
    this.error = null;
    this.again = false;
    this.againLoud = false;
    this.retryOnFail = false;
  }
}
