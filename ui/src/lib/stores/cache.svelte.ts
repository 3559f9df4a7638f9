// The messages the signed-in account keeps on this computer, for the Storage section of Settings:
// how much they take (`cache_usage`, loaded when the dialog opens) and clearing them
// (`clear_cache`: the cached history and its search index go, messages not yet sent stay, chats
// load again from the server). There is no event for any of this: the usage is what the last
// answer said. After a clear the app reloads what it shows (`cleared`, as after a resync).
import * as api from '../api';
import type { Account, AppError, CacheUsage } from '../api';

export type CacheDeps = {
  account(): Account | null;
  /** The cache was cleared: reload the conversation list and the open conversation. */
  cleared(): void;
};

export class CacheStore {
  /** The last usage the backend gave (null until it gave one for this account). */
  usage = $state.raw<CacheUsage | null>(null);
  /** A `cache_usage` is on its way. */
  loading = $state(false);
  /** Why the latest load failed (null once it, or a later answer, succeeds). */
  error = $state.raw<AppError | null>(null);
  /** A `clear_cache` is on its way. */
  clearing = $state(false);

  /** Requests asked for and the latest whose answer was applied: an older answer never wins. */
  private issued = 0;
  private applied = 0;
  private loads = 0;

  constructor(private readonly deps: CacheDeps) {}

  /**
   * Loads the usage; resolves to whether it succeeded (a failure is `error`, shown by the dialog).
   * While a clear is on its way it waits for that (whose answer is the usage after it).
   */
  async load(): Promise<boolean> {
    const account = this.deps.account();
    if (!account || this.clearing) return false;
    const seq = ++this.issued;
    this.loads++;
    this.loading = true;
    try {
      const answer = await api.cacheUsage();
      if (this.deps.account() !== account) return false;
      if (seq > this.applied && isCacheUsage(answer)) {
        this.applied = seq;
        this.usage = answer;
        this.error = null;
      }
      return true;
    } catch (e) {
      if (this.deps.account() !== account) return false;
      if (seq === this.issued) this.error = api.toAppError(e);
      return false;
    } finally {
      this.loads--;
      this.loading = this.loads > 0;
    }
  }

  /**
   * Clears the messages kept on this computer; resolves to null when done (the usage after it is
   * shown, and the app reloads what it shows), else to why not (e.g. `cache`: nothing changes).
   */
  async clear(): Promise<AppError | null> {
    const account = this.deps.account();
    if (!account || this.clearing) return null;
    const seq = ++this.issued;
    this.clearing = true;
    try {
      const answer = await api.clearCache();
      if (this.deps.account() !== account) return null;
      if (isCacheUsage(answer)) {
        this.applied = Math.max(this.applied, seq);
        this.usage = answer;
        this.error = null;
      }
      this.deps.cleared();
      return null;
    } catch (e) {
      return this.deps.account() === account ? api.toAppError(e) : null;
    } finally {
      this.clearing = false;
    }
  }

  /** Signed out: nothing of the account stays. */
  reset(): void {
    this.usage = null;
    this.error = null;
    this.applied = this.issued;
  }
}

function isCacheUsage(v: unknown): v is CacheUsage {
  if (!v || typeof v !== 'object') return false;
  const u = v as Record<string, unknown>;
  return typeof u.bytes === 'number' && typeof u.messages === 'number';
}
