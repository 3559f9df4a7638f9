// The app's self-update, for the main screen's "ready" banner and the About section of Settings:
// the status the backend keeps, loaded with `update_status` at start and followed through its
// `update` events; checking now (`check_for_updates`: the check runs in the background, its
// progress and result come as events), installing the ready update (`install_update`: the app
// restarts), the automatic checks on or off (`set_auto_update`), and the banner put away for the
// rest of the session ("Later").
//
// What is shown:
//  - the last status the backend gave (an answer or an event). An answer older than one already
//    shown (asked for earlier) is dropped: the last answer wins. An event replaces the status;
//  - over it, the automatic-checks checkbox shows what the user asked for (its latest value) until
//    its answer comes. A refused change goes back to what the backend said, and a toast says why;
//  - a refused install: its error, in the banner and in Settings, while that update is the one
//    waiting (the backend keeps it ready after a failed install). A new check or install forgets
//    it. A refused check is a toast (the check's own failures come as its status).
// Answers and events travel separately and may cross (check_for_updates answering `checking` after
// the check's own `upToDate` event arrived; set_auto_update changes the status without an event).
// Whenever that may have happened (two commands on their way at once, or an event), the store asks
// for the whole status again once nothing is on its way: what is shown then agrees with the backend.
import * as api from '../api';
import type { AppError, UpdateState, UpdateStatus } from '../api';
import type { ToastStore } from './toasts.svelte';

type Intent = { seq: number; value: boolean };

/** An install the backend refused: of which version, and why. */
export type InstallFailure = { version: string; error: AppError };

/** The main screen's banner: an update is ready (or being installed). */
export type UpdateBanner = {
  version: string;
  /** It is being installed: "Restart to update" is disabled and says "Restarting…". */
  installing: boolean;
  /** Why the last install of this version failed (null: it did not). */
  error: AppError | null;
};

/**
 * Whether a refused install is about the status: its update is the one waiting (ready, or being
 * installed again).
 */
export function failureApplies(failure: InstallFailure, state: UpdateState): boolean {
  return (state.kind === 'ready' || state.kind === 'installing') && state.version === failure.version;
}

/**
 * The banner for a status: an update ready (or being installed) whose version was not put away,
 * with the refused install of it, if any; null otherwise.
 */
export function bannerFor(
  status: UpdateStatus | null,
  refused: InstallFailure | null,
  dismissed: ReadonlySet<string>,
  installPending: boolean,
): UpdateBanner | null {
  const state = status?.state;
  if (!state || (state.kind !== 'ready' && state.kind !== 'installing') || dismissed.has(state.version)) return null;
  const error = refused && failureApplies(refused, state) ? refused.error : null;
  return {
    version: state.version,
    installing: installPending || (state.kind === 'installing' && !error),
    error,
  };
}

export class UpdateStore {
  /** The last status the backend gave (null until it gave one). */
  private base = $state.raw<UpdateStatus | null>(null);
  /** The automatic-checks change on its way: the value the latest one asked for. */
  private autoIntent = $state.raw<Intent | null>(null);

  /** What is shown: the backend's status, with the automatic-checks change on its way. */
  readonly status = $derived.by((): UpdateStatus | null => {
    const base = this.base;
    if (!base) return null;
    const intent = this.autoIntent;
    return intent ? { ...base, autoCheck: intent.value } : base;
  });
  /** An `update_status` is on its way. */
  loading = $state(false);
  /** A `check_for_updates` is on its way. */
  checking = $state(false);
  /** An `install_update` is on its way (the app restarts when it succeeds). */
  installPending = $state(false);
  /** The last install the backend refused (until the next check or install). */
  private refused = $state.raw<InstallFailure | null>(null);
  /** The versions whose banner was put away ("Later"), for the rest of the session. */
  dismissed = $state.raw<ReadonlySet<string>>(new Set());

  /** The last refused install, while it is about the status (see `failureApplies`). */
  readonly installFailure = $derived.by((): InstallFailure | null => {
    const refused = this.refused;
    const state = this.status?.state;
    return refused && state && failureApplies(refused, state) ? refused : null;
  });
  /** The main screen's banner (null: none). */
  readonly banner = $derived(bannerFor(this.status, this.refused, this.dismissed, this.installPending));
  /**
   * The ready update is being installed (by this window, or the status says so; an `installing`
   * that a refusal already answered is not).
   */
  readonly installing = $derived(this.installPending || (this.status?.state.kind === 'installing' && !this.installFailure));
  /** A check, a download or an install runs (or is asked for): "Check for updates" waits. */
  readonly busy = $derived.by(() => {
    const kind = this.status?.state.kind;
    return this.checking || this.installing || kind === 'checking' || kind === 'downloading' || kind === 'installing';
  });

  /** Requests asked for, and the latest whose answer was applied (an older answer never wins). */
  private issued = 0;
  private applied = 0;
  private inFlight = 0;
  private loads = 0;
  private checks = 0;
  /** Answers and events may have crossed since the last quiet moment: ask again once quiet. */
  private crossed = false;

  constructor(private readonly toasts: ToastStore) {}

  /** Whether the store has a status to show. */
  get loaded(): boolean {
    return this.base !== null;
  }

  /**
   * Loads the status; resolves to whether it succeeded. A failure says nothing (the updates are
   * the app's business in the background): Settings loads again when it opens.
   */
  async load(): Promise<boolean> {
    this.loads++;
    this.loading = true;
    try {
      const error = await this.request(() => api.updateStatus());
      if (error) console.warn('[gtedx] update_status failed:', error);
      return !error;
    } finally {
      this.loads--;
      this.loading = this.loads > 0;
    }
  }

  /** Checks for an update now; resolves to whether the backend took it (a refusal is a toast). */
  async check(): Promise<boolean> {
    this.refused = null;
    this.checks++;
    this.checking = true;
    try {
      const error = await this.request(() => api.checkForUpdates());
      if (error) this.toasts.show(error);
      return !error;
    } finally {
      this.checks--;
      this.checking = this.checks > 0;
    }
  }

  /**
   * Installs the ready update: the app restarts (so this may never resolve). Resolves to false when
   * no update is ready, one is being installed already, or the backend refused (`installFailure`
   * then says why).
   */
  async install(): Promise<boolean> {
    const state = this.status?.state;
    if (state?.kind !== 'ready' || this.installPending) return false;
    const version = state.version;
    this.refused = null;
    this.installPending = true;
    try {
      await api.installUpdate();
      return true;
    } catch (e) {
      this.refused = { version, error: api.toAppError(e) };
      return false;
    } finally {
      this.installPending = false;
    }
  }

  /** Turns the automatic checks on or off; resolves to whether the backend took it. */
  async setAutoCheck(enabled: boolean): Promise<boolean> {
    const seq = this.issued + 1;
    this.autoIntent = { seq, value: enabled };
    const error = await this.request(
      () => api.setAutoUpdate({ enabled }),
      () => {
        if (this.autoIntent?.seq === seq) this.autoIntent = null;
      },
    );
    if (error) this.toasts.show(error);
    return !error;
  }

  /** "Later": the banner of the update it shows goes away for the rest of the session. */
  dismiss(): void {
    const version = this.banner?.version;
    if (version !== undefined) this.dismissed = new Set([...this.dismissed, version]);
  }

  /** The backend's `update` event: the new status. */
  event(status: UpdateStatus): void {
    if (!isUpdateStatus(status)) return;
    this.show(status);
    // (It may have crossed an answer on its way: ask again, now or once nothing is on its way.)
    this.crossed = true;
    if (this.inFlight === 0) this.reconcile();
  }

  private show(status: UpdateStatus): void {
    this.base = structuredClone(status);
  }

  /**
   * Sends a command whose answer is the whole status; resolves to its error (null: it was taken).
   * `done` runs when its answer (or error) has been applied, before anything else can run.
   */
  private async request(command: () => Promise<UpdateStatus>, done?: () => void): Promise<AppError | null> {
    const seq = ++this.issued;
    if (this.inFlight > 0) this.crossed = true;
    this.inFlight++;
    let error: AppError | null = null;
    try {
      const answer = await command();
      if (seq > this.applied && isUpdateStatus(answer)) {
        this.applied = seq;
        this.show(answer);
      }
    } catch (e) {
      error = api.toAppError(e);
    } finally {
      done?.();
      this.inFlight--;
      if (this.inFlight === 0 && this.crossed) this.reconcile();
    }
    return error;
  }

  private reconcile(): void {
    this.crossed = false;
    void this.load();
  }
}

const STATE_KINDS = new Set(['idle', 'checking', 'upToDate', 'downloading', 'ready', 'installing', 'failed']);

function isUpdateStatus(v: unknown): v is UpdateStatus {
  if (!v || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  const state = s.state as Record<string, unknown> | null | undefined;
  return (
    typeof s.currentVersion === 'string' &&
    typeof s.autoCheck === 'boolean' &&
    (s.checkedAt === null || typeof s.checkedAt === 'number') &&
    !!state &&
    typeof state === 'object' &&
    typeof state.kind === 'string' &&
    STATE_KINDS.has(state.kind)
  );
}
