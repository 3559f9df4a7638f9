// The devices signed in to the user's account (its sessions), for the Settings dialog: loaded
// with `list_sessions` when the dialog opens (and on Retry), another device signed out with
// `revoke_session`, and the password changed with `change_password` (which signs out every other
// device). There is no event for any of this: the list is what the last answer said, minus what
// this device signed out since.
import * as api from '../api';
import type { Account, AppError, SessionInfo } from '../api';

export type DeviceDeps = {
  account(): Account | null;
};

/**
 * What a `list_sessions` in flight (the `seq`th asked for) must not bring back when it answers:
 * the sessions this device signed out meanwhile (by id), or every other one (the password was
 * changed after it was asked).
 */
type Journal = { seq: number; gone: Set<string>; othersGone: boolean };

/** Newest first (as the backend sends them; kept so whatever the answer's order). */
export function sortSessions(list: readonly SessionInfo[]): SessionInfo[] {
  return [...list].sort((a, b) => (b.createdAt ?? 0) - (a.createdAt ?? 0));
}

export class DeviceStore {
  /** The sessions, newest first. */
  list = $state.raw<SessionInfo[]>([]);
  /** A load has succeeded for this account. */
  loaded = $state(false);
  /** A load is on its way. */
  loading = $state(false);
  /** Why the latest load asked for failed (null once it, or a later one, succeeds). */
  error = $state.raw<AppError | null>(null);
  /** The sessions being signed out (by id). */
  revoking = $state.raw<ReadonlySet<string>>(new Set());

  /** Loads asked for and the latest one whose answer was applied: an older answer never wins. */
  private issued = 0;
  private applied = 0;
  /** The load whose failure `error` is. */
  private failed = 0;
  private inFlight = 0;
  private journals = new Set<Journal>();
  private revokes = new Map<string, Promise<AppError | null>>();

  constructor(private readonly deps: DeviceDeps) {}

  /** Loads the list; resolves to whether it succeeded (a failure is `error`, shown by the dialog). */
  async load(): Promise<boolean> {
    const account = this.deps.account();
    if (!account) return false;
    const seq = ++this.issued;
    const journal: Journal = { seq, gone: new Set(), othersGone: false };
    this.journals.add(journal);
    this.inFlight++;
    this.loading = true;
    try {
      const answer = await api.listSessions();
      if (this.deps.account() !== account) return false;
      if (seq > this.applied) {
        this.applied = seq;
        const sessions = Array.isArray(answer) ? answer : [];
        this.list = sortSessions(sessions.filter((s) => !journal.gone.has(s.id) && (s.current || !journal.othersGone)));
        this.loaded = true;
        // (An older answer, arriving after a newer load failed, is shown, but that one did fail.)
        if (seq > this.failed) this.error = null;
      }
      return true;
    } catch (e) {
      if (this.deps.account() !== account) return false;
      // (An older load's failure says nothing once a newer one was asked for.)
      if (seq === this.issued) {
        this.error = api.toAppError(e);
        this.failed = seq;
      }
      return false;
    } finally {
      this.journals.delete(journal);
      this.inFlight--;
      this.loading = this.inFlight > 0;
    }
  }

  /**
   * Signs another device out. Resolves to null when it is gone (also when it was signed out
   * already: `session_not_found`), else to why not (the row stays). Asked again while on its way,
   * it is the same answer.
   */
  revoke(sessionId: string): Promise<AppError | null> {
    const running = this.revokes.get(sessionId);
    if (running) return running;
    if (!this.deps.account()) return Promise.resolve(null);
    const p = this.revokeOnce(sessionId).finally(() => this.revokes.delete(sessionId));
    this.revokes.set(sessionId, p);
    return p;
  }

  private async revokeOnce(sessionId: string): Promise<AppError | null> {
    const account = this.deps.account();
    this.revoking = new Set([...this.revoking, sessionId]);
    try {
      await api.revokeSession({ sessionId });
      if (this.deps.account() === account) this.gone([sessionId]);
      return null;
    } catch (e) {
      const err = api.toAppError(e);
      if (this.deps.account() !== account) return null;
      if (err.code === 'session_not_found') {
        this.gone([sessionId]);
        return null;
      }
      return err;
    } finally {
      this.revoking = new Set([...this.revoking].filter((id) => id !== sessionId));
    }
  }

  /**
   * Changes the password; rejects with the backend's `AppError`. On success every other device is
   * signed out (the server does it): they leave the list. Only a list asked for before the change
   * can still hold them (the backend asks the server in order): a device that signed in since, in
   * a list asked for afterwards, stays.
   */
  async changePassword(oldPassword: string, newPassword: string): Promise<void> {
    const account = this.deps.account();
    const before = this.issued;
    try {
      await api.changePassword({ oldPassword, newPassword });
    } catch (e) {
      throw api.toAppError(e);
    }
    if (this.deps.account() !== account) return;
    for (const j of this.journals) if (j.seq <= before) j.othersGone = true;
    if (this.applied <= before) this.gone(this.list.filter((s) => !s.current).map((s) => s.id));
  }

  private gone(ids: string[]): void {
    if (ids.length === 0) return;
    for (const j of this.journals) for (const id of ids) j.gone.add(id);
    const drop = new Set(ids);
    this.list = this.list.filter((s) => !drop.has(s.id));
  }

  /** Signed out: nothing of the account stays. */
  reset(): void {
    this.list = [];
    this.loaded = false;
    this.error = null;
    this.revoking = new Set();
  }
}
