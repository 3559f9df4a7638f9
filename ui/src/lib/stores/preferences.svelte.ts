// The user's preferences on this computer (not the account's: they stay when signing out): for
// now whether notifications show the message text. Owns their values, keeps them in localStorage
// (unreadable or unavailable storage: the defaults), and tells the backend, which starts with its
// defaults, at start-up and on every change; a refusal is a toast.
import * as api from '../api';
import type { ToastStore } from './toasts.svelte';

/** The localStorage key of the preferences (a JSON object). */
export const PREFERENCES_KEY = 'gtedx-im.preferences';

export type PreferenceStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** The browser's localStorage; null where there is none or it may not be used (it throws). */
function browserStorage(): PreferenceStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** The saved value of `notificationText`; true when none is saved, or it cannot be read. */
function savedNotificationText(storage: PreferenceStorage | null): boolean {
  try {
    const saved: unknown = JSON.parse(storage?.getItem(PREFERENCES_KEY) ?? 'null');
    const value = (saved as { notificationText?: unknown } | null)?.notificationText;
    return typeof value === 'boolean' ? value : true;
  } catch {
    return true;
  }
}

export class PreferenceStore {
  /** Notifications show the message text (off: they only say that messages came). */
  notificationText = $state(true);

  constructor(
    private readonly toasts: ToastStore,
    private readonly storage: PreferenceStorage | null = browserStorage(),
  ) {
    this.notificationText = savedNotificationText(storage);
  }

  /** Tells the backend the preferences (at start-up). */
  send(): Promise<void> {
    return api.setNotificationText({ show: this.notificationText }).then(
      () => {},
      (e) => this.toasts.report(e, 'set_notification_text'),
    );
  }

  setNotificationText(show: boolean): Promise<void> {
    this.notificationText = show;
    this.save();
    return this.send();
  }

  private save(): void {
    try {
      this.storage?.setItem(PREFERENCES_KEY, JSON.stringify({ notificationText: this.notificationText }));
    } catch (e) {
      // Full or blocked storage: the preference holds until the app quits.
      console.warn('[gtedx] the preferences could not be saved:', e);
    }
  }
}
