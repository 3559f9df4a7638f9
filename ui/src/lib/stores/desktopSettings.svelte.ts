// The desktop settings of the Settings dialog (close to tray, start at sign-in, hardware
// acceleration, pausing the notifications): this computer's, kept by the backend. Loaded with
// `desktop_settings` when the dialog opens; each change is a command that answers with the whole
// new state; the tray menu can pause the notifications too, and then a `desktopSettings` event
// brings the new state.
//
// What is shown:
//  - the last state the backend gave (an answer or an event). An answer older than one already
//    shown (asked for earlier) is dropped: the last answer wins. An event replaces the state;
//  - over it, a checkbox change on its way shows what the user asked for (its latest value) until
//    its answer comes. A refused change (e.g. `autostart`: the autostart entry could not be
//    written) goes back to what the backend said, and a toast says why.
// Answers and events travel separately and may cross (an answer computed before the tray's
// change, arriving after its event; two commands answered in another order). Whenever that may
// have happened (two commands on their way at once, or an event), the store asks for the whole
// state again once nothing is on its way: what is shown then agrees with the backend.
//
// Hardware acceleration takes effect at the next start: its checkbox changes the saved choice
// (`enabled`), and while that differs from what the running app uses (`active`) the dialog offers
// to restart the app (`restart`: `restart_app`, which may never answer).
import * as api from '../api';
import type { AppError, DesktopSettings, MuteSpan } from '../api';
import { asSentence, t } from '../i18n';
import type { ToastStore } from './toasts.svelte';

/** The settings a checkbox changes (of hardware acceleration: its saved choice, `enabled`). */
export type DesktopToggle = 'closeToTray' | 'startAtLogin' | 'hardwareAcceleration';

type Intent = { seq: number; value: boolean };

/** Whether the notifications are paused at `now`. */
export function isPaused(settings: DesktopSettings | null, now: number): boolean {
  const until = settings?.notificationsMutedUntil;
  return typeof until === 'number' && until > now;
}

export class DesktopSettingsStore {
  /** The last state the backend gave (null until it gave one). */
  private base = $state.raw<DesktopSettings | null>(null);
  /** The checkbox changes on their way: the value the latest one asked for. */
  private intents = $state.raw<Partial<Record<DesktopToggle, Intent>>>({});

  /** What the dialog shows: the backend's state, with the changes on their way. */
  readonly settings = $derived.by((): DesktopSettings | null => {
    const base = this.base;
    if (!base) return null;
    const shown = { ...base };
    for (const [field, intent] of Object.entries(this.intents) as [DesktopToggle, Intent][]) {
      if (field === 'hardwareAcceleration') {
        const hardware = shown.hardwareAcceleration;
        shown.hardwareAcceleration = hardware && { ...hardware, enabled: intent.value };
      } else {
        shown[field] = intent.value;
      }
    }
    return shown;
  });
  /** A `desktop_settings` is on its way. */
  loading = $state(false);
  /** A load failed before there was any state to show (the dialog offers Try again). */
  failed = $state(false);
  /** A `mute_notifications` is on its way. */
  muting = $state(false);
  /** A `restart_app` is on its way (the app restarts: it may never answer). */
  restarting = $state(false);

  /** Requests asked for, and the latest whose answer was applied (an older answer never wins). */
  private issued = 0;
  private applied = 0;
  private inFlight = 0;
  private loads = 0;
  private mutes = 0;
  /** Answers and events may have crossed since the last quiet moment: ask again once quiet. */
  private crossed = false;

  constructor(private readonly toasts: ToastStore) {}

  /** Whether the store has a state to show. */
  get loaded(): boolean {
    return this.base !== null;
  }

  /** Loads the state; resolves to whether it succeeded (a failure is a toast). */
  async load(): Promise<boolean> {
    this.loads++;
    this.loading = true;
    try {
      const error = await this.request(() => api.desktopSettings());
      if (error) {
        // (With a state shown already, it stays: only the toast says that this failed.)
        if (!this.loaded) this.failed = true;
        this.toasts.show(error);
        return false;
      }
      return true;
    } finally {
      this.loads--;
      this.loading = this.loads > 0;
    }
  }

  /** Turns close-to-tray on or off; resolves to whether the backend took it. */
  setCloseToTray(enabled: boolean): Promise<boolean> {
    return this.toggle('closeToTray', enabled, () => api.setCloseToTray({ enabled }));
  }

  /** Turns starting at sign-in on or off; resolves to whether the backend took it. */
  setStartAtLogin(enabled: boolean): Promise<boolean> {
    return this.toggle('startAtLogin', enabled, () => api.setStartAtLogin({ enabled }));
  }

  /**
   * Turns hardware acceleration on or off (its saved choice: the running app keeps what it uses
   * until it restarts); resolves to whether the backend took it.
   */
  setHardwareAcceleration(enabled: boolean): Promise<boolean> {
    return this.toggle('hardwareAcceleration', enabled, () => api.setHardwareAcceleration({ enabled }));
  }

  /** Whether a change of this checkbox is on its way. */
  changing(field: DesktopToggle): boolean {
    return this.intents[field] !== undefined;
  }

  /**
   * Restarts the app (to apply hardware acceleration). The backend may never answer (the app
   * restarts): nothing waits for it. Resolves to false when a restart is on its way already, and
   * when the backend refused (a toast says why).
   */
  async restart(): Promise<boolean> {
    if (this.restarting) return false;
    this.restarting = true;
    try {
      await api.restartApp();
      return true;
    } catch (e) {
      this.toasts.show(api.toAppError(e));
      return false;
    } finally {
      this.restarting = false;
    }
  }

  /** Pauses the notifications (`hour`, `tomorrow`) or resumes them (`off`). */
  async mute(span: MuteSpan): Promise<boolean> {
    this.mutes++;
    this.muting = true;
    try {
      const error = await this.request(() => api.muteNotifications({ span }));
      if (error) this.toasts.show(error);
      return !error;
    } finally {
      this.mutes--;
      this.muting = this.mutes > 0;
    }
  }

  /** The backend's `desktopSettings` event: the new state. */
  event(settings: DesktopSettings): void {
    this.base = { ...settings };
    this.failed = false;
    // (It may have crossed an answer on its way: ask again, now or once nothing is on its way.)
    this.crossed = true;
    if (this.inFlight === 0) this.reconcile();
  }

  private async toggle(field: DesktopToggle, value: boolean, command: () => Promise<DesktopSettings>): Promise<boolean> {
    const seq = this.issued + 1;
    this.intents = { ...this.intents, [field]: { seq, value } };
    const error = await this.request(command, () => {
      if (this.intents[field]?.seq === seq) {
        const { [field]: _done, ...rest } = this.intents;
        this.intents = rest;
      }
    });
    if (error) {
      if (error.code === 'autostart') {
        this.toasts.show(t('settings.startAtLoginFailed', { detail: asSentence(error.message) }).trim());
      } else {
        this.toasts.show(error);
      }
    }
    return !error;
  }

  /**
   * Sends a command whose answer is the whole state; resolves to its error (null: it was taken).
   * `done` runs when its answer (or error) has been applied, before anything else can run.
   */
  private async request(command: () => Promise<DesktopSettings>, done?: () => void): Promise<AppError | null> {
    const seq = ++this.issued;
    if (this.inFlight > 0) this.crossed = true;
    this.inFlight++;
    let error: AppError | null = null;
    try {
      const answer = await command();
      if (seq > this.applied && isDesktopSettings(answer)) {
        this.applied = seq;
        this.base = { ...answer };
        this.failed = false;
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

function isDesktopSettings(v: unknown): v is DesktopSettings {
  if (!v || typeof v !== 'object') return false;
  const s = v as Record<string, unknown>;
  return (
    typeof s.closeToTray === 'boolean' &&
    typeof s.startAtLogin === 'boolean' &&
    typeof s.trayAvailable === 'boolean' &&
    (s.notificationsMutedUntil === null || typeof s.notificationsMutedUntil === 'number') &&
    (s.hardwareAcceleration === null || isHardwareAcceleration(s.hardwareAcceleration))
  );
}

function isHardwareAcceleration(v: unknown): v is DesktopSettings['hardwareAcceleration'] {
  if (!v || typeof v !== 'object') return false;
  const h = v as Record<string, unknown>;
  return typeof h.enabled === 'boolean' && typeof h.active === 'boolean';
}
