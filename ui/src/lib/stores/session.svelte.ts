// The session: start-up (bootstrap, `ui_ready`), the account, signing in, up and out, the
// connection state. What signing in or out means for the rest of the state (loading the list,
// clearing everything) is handed to the hooks the app wires in.
import { tick } from 'svelte';
import * as api from '../api';
import type { Account, AppError, AppInfo, ConnectionState, ConversationItem } from '../api';
import { normalizeMaxChars } from '../composer';
import { afterPaint } from '../paint';
import type { ToastStore } from './toasts.svelte';

export const DEFAULT_SERVER_URL = 'ws://127.0.0.1:7822/ws';

export type Phase = 'loading' | 'auth' | 'main';

export type SessionHooks = {
  /** Subscribes to the backend's events (resolves once subscribed). */
  listen(): Promise<unknown>;
  /** Signed in (or restored): load the first page of the list (given by `bootstrap`, or fetched). */
  signedIn(firstPage?: ConversationItem[]): Promise<void>;
  /** Signed out (button or server): drop everything that belonged to the account. */
  signedOut(): void;
  /** The window came back (focus, visible again). */
  windowBack(): void;
  /** The connection is (back) online while signed in. */
  online(): void;
};

export class SessionStore {
  phase = $state<Phase>('loading');
  info = $state.raw<AppInfo | null>(null);
  account = $state.raw<Account | null>(null);
  /** An error to show on the sign-in screen (e.g. keyring_unavailable from restore_session). */
  authError = $state.raw<AppError | null>(null);
  /** Set by a `signedOut` event: the server's reason, shown on the sign-in screen. */
  signedOutReason = $state<string | null>(null);
  /** The server and username of the last account, to prefill the sign-in form after signing out. */
  lastServerUrl = $state<string | null>(null);
  lastUsername = $state<string | null>(null);
  /** `ui_ready` has been sent (after the first paint); only then do further list pages load. */
  ready = $state(false);

  connection = $state.raw<ConnectionState>({ state: 'connecting' });
  /** When the current connection state arrived (for the reconnect countdown). */
  connectionSince = $state(Date.now());

  /** The longest message text the server takes (code points), from `app_info`. */
  maxTextChars = $derived(normalizeMaxChars(this.info?.maxTextChars));

  private readySent = false;
  private booted = false;

  constructor(
    private readonly toasts: ToastStore,
    private readonly hooks: SessionHooks,
  ) {}

  /** Start: subscribe to events, read app info, try to restore the saved session. */
  async boot(): Promise<void> {
    if (this.booted) return;
    this.booted = true;
    // Mark the open conversation read again when the window comes back.
    if (typeof window !== 'undefined') window.addEventListener('focus', () => this.hooks.windowBack());
    if (typeof document !== 'undefined') document.addEventListener('visibilitychange', () => this.hooks.windowBack());
    // Subscribe and fetch the first screen at the same time: one round trip for everything.
    const listening = this.hooks.listen().catch((e) => this.toasts.show(api.toAppError(e)));
    let boot: api.Bootstrap | null = null;
    try {
      boot = await api.bootstrap();
    } catch (e) {
      this.authError = api.toAppError(e);
    }
    const info = boot?.info;
    this.info = info
      ? { ...info, maxTextChars: normalizeMaxChars(info.maxTextChars) }
      : { version: '', profile: null, defaultServerUrl: DEFAULT_SERVER_URL, maxTextChars: normalizeMaxChars(null) };
    if (boot?.account) {
      await this.enter(boot.account, boot.conversations, boot.connection);
    } else {
      if (boot?.error) this.authError = boot.error;
      this.phase = 'auth';
    }
    await listening;
  }

  /**
   * Called when the first screen a user can act on (the conversation list, or the sign-in screen)
   * has rendered; invokes `ui_ready` once, after that screen's first paint.
   */
  notifyReady(): void {
    if (this.readySent) return;
    this.readySent = true;
    api.mark('rendered');
    void tick().then(() =>
      afterPaint(() => {
        this.ready = true;
        // Only a start-up measurement (and, for a window created hidden, the signal to show it,
        // which the backend also does by itself after a while): a failure is worth a line in the
        // console for whoever measures, not a toast the user can do nothing about.
        api.uiReady().catch((e) => console.warn('[gtedx] ui_ready failed:', e));
      }),
    );
  }

  /** `allowInsecure`: the person agreed to an unencrypted (`ws://`) server that is not this computer. */
  async signIn(a: api.SignInArgs): Promise<void> {
    await this.enter(await api.signIn(a));
  }

  async signUp(a: api.SignUpArgs): Promise<void> {
    await this.enter(await api.signUp(a));
  }

  private async enter(account: Account, firstPage?: ConversationItem[], connection?: ConnectionState): Promise<void> {
    this.account = account;
    this.authError = null;
    this.signedOutReason = null;
    this.phase = 'main';
    if (connection) {
      this.setConnection(connection);
    } else {
      api.connectionState().then(
        (s) => {
          if (this.account === account) this.setConnection(s);
        },
        // The banner would say "Connecting…" until the next connection event: say why.
        (e) => this.toasts.report(e, 'connection_state'),
      );
    }
    await this.hooks.signedIn(firstPage);
  }

  /**
   * Signs out with the button. Also offline (the backend revokes the session later); with
   * `forgetData` the backend also removes this account's messages from this computer. The
   * sign-in screen comes back even if the backend reported a problem (shown as a toast).
   */
  async signOut(opts: { forgetData?: boolean } = {}): Promise<void> {
    try {
      await api.signOut({ forgetData: opts.forgetData === true });
    } catch (e) {
      this.toasts.show(api.toAppError(e));
    }
    this.reset();
  }

  /** A `signedOut` event: the server ended the session. */
  signedOutByServer(reason: string | null | undefined): void {
    if (this.phase === 'auth') return;
    this.reset();
    this.signedOutReason = reason?.trim() || '';
  }

  // Catching up after a reconnect is the backend's `resync` event (sent once its catch-up is done).
  setConnection(s: ConnectionState): void {
    const was = this.connection.state;
    this.connection = s;
    this.connectionSince = Date.now();
    if (s.state === 'online' && was !== 'online' && this.account && this.phase === 'main') this.hooks.online();
  }

  private reset(): void {
    this.phase = 'auth';
    this.lastServerUrl = this.account?.serverUrl ?? this.lastServerUrl;
    this.lastUsername = this.account?.username ?? this.lastUsername;
    this.account = null;
    this.hooks.signedOut();
  }
}
