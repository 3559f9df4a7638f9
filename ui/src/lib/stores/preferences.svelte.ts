// The user's preferences on this computer (not the account's: they stay when signing out):
// whether notifications show the message text, the theme and the language. Owns their values,
// keeps them in localStorage (../savedPreferences.ts: unreadable or unavailable storage means the
// defaults), tells the backend the notification one (it starts with its default) at start-up and
// on every change (a refusal is a toast), shows the theme at once, and applies a new language by
// reloading the window (the UI's texts are chosen once, at start: ../i18n.ts).
import * as api from '../api';
import { locale as runningLocale, localeFor, type Locale } from '../i18n';
import {
  applyTheme,
  browserStorage,
  readPreferences,
  writePreferences,
  type Language,
  type PreferenceStorage,
  type Theme,
} from '../savedPreferences';
import type { ToastStore } from './toasts.svelte';

export { PREFERENCES_KEY, type Language, type PreferenceStorage, type Theme } from '../savedPreferences';

export type PreferenceDeps = {
  /** Where the preferences are kept (default: localStorage; null: nowhere). */
  storage?: PreferenceStorage | null;
  /** Shows a theme (default: `data-theme` on `<html>`). */
  applyTheme?: (theme: Theme) => void;
  /** Reloads the window, to show another language (default: `location.reload()`). */
  reload?: () => void;
  /** The locale the UI runs in (default: the one chosen at start). */
  locale?: Locale;
  /** The system's languages, most wanted first (default: `navigator.languages`). */
  languages?: () => readonly (string | undefined | null)[];
};

function navigatorLanguages(): readonly string[] {
  if (typeof navigator === 'undefined') return [];
  return [navigator.language, ...(navigator.languages ?? [])];
}

export class PreferenceStore {
  /** Notifications show the message text (off: they only say that messages came). */
  notificationText = $state(true);
  /** Light, dark, or as the system is. */
  theme = $state<Theme>('system');
  /** The UI's language, or the system's. */
  language = $state<Language>('system');

  private readonly storage: PreferenceStorage | null;
  private readonly deps: PreferenceDeps;

  /** `storage` (the older form of `deps.storage`) or `deps`. */
  constructor(
    private readonly toasts: ToastStore,
    storageOrDeps: PreferenceStorage | null | PreferenceDeps = {},
  ) {
    const deps: PreferenceDeps =
      storageOrDeps === null || 'getItem' in storageOrDeps ? { storage: storageOrDeps as PreferenceStorage | null } : storageOrDeps;
    this.deps = deps;
    this.storage = deps.storage !== undefined ? deps.storage : browserStorage();
    const saved = readPreferences(this.storage);
    this.notificationText = saved.notificationText;
    this.theme = saved.theme;
    this.language = saved.language;
  }

  /** Tells the backend the preferences (at start-up): notification text, and the UI's
   * language for the texts the backend shows itself (tray menu, notifications). */
  send(): Promise<void> {
    const text = api.setNotificationText({ show: this.notificationText }).then(
      () => {},
      (e) => this.toasts.report(e, 'set_notification_text'),
    );
    const language = api.setLocale({ locale: runningLocale === 'zh-CN' ? 'zh' : 'en' }).then(
      () => {},
      (e) => this.toasts.report(e, 'set_locale'),
    );
    return Promise.all([text, language]).then(() => {});
  }

  setNotificationText(show: boolean): Promise<void> {
    this.notificationText = show;
    this.save();
    return this.send();
  }

  /** Saves the theme and shows it at once. */
  setTheme(theme: Theme): void {
    this.theme = theme;
    this.save();
    (this.deps.applyTheme ?? applyTheme)(theme);
  }

  /** The locale a language choice gives on this system. */
  localeOf(language: Language): Locale {
    return localeFor(language, (this.deps.languages ?? navigatorLanguages)());
  }

  /**
   * Saves the language; when that changes the UI's language, reloads the window to show it (the
   * backend keeps running: the account stays signed in).
   */
  setLanguage(language: Language): void {
    this.language = language;
    this.save();
    if (this.localeOf(language) !== (this.deps.locale ?? runningLocale)) {
      (this.deps.reload ?? (() => location.reload()))();
    }
  }

  private save(): void {
    writePreferences(this.storage, { notificationText: this.notificationText, theme: this.theme, language: this.language });
  }
}
