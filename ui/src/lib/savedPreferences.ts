// The user's preferences on this computer as saved in localStorage (one JSON object under
// `PREFERENCES_KEY`): whether notifications show the message text, the theme and the language.
// Plain functions with no imports of the app's own, so that start-up code (the i18n module's
// locale detection, main.ts's theme) can read them synchronously before anything else runs.
// `PreferenceStore` (./stores/preferences.svelte.ts) owns the values while the app runs.

/** The localStorage key of the preferences (a JSON object). */
export const PREFERENCES_KEY = 'gtedx-im.preferences';

/** `system`: follow the system's light or dark setting (`prefers-color-scheme`). */
export const THEMES = ['system', 'light', 'dark'] as const;
export type Theme = (typeof THEMES)[number];

/** `system`: the language the system asks for (`navigator.languages`); otherwise a locale of the UI. */
export const LANGUAGES = ['system', 'zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

export type SavedPreferences = {
  /** Notifications show the message text (off: they only say that messages came). */
  notificationText: boolean;
  theme: Theme;
  language: Language;
};

export const DEFAULT_PREFERENCES: Readonly<SavedPreferences> = Object.freeze({
  notificationText: true,
  theme: 'system',
  language: 'system',
});

export type PreferenceStorage = Pick<Storage, 'getItem' | 'setItem'>;

/** The browser's localStorage; null where there is none or it may not be used (it throws). */
export function browserStorage(): PreferenceStorage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}

/** The saved JSON object as it is (null when there is none, or it is not an object). */
function savedObject(storage: PreferenceStorage | null): Record<string, unknown> | null {
  try {
    const saved: unknown = JSON.parse(storage?.getItem(PREFERENCES_KEY) ?? 'null');
    return saved && typeof saved === 'object' && !Array.isArray(saved) ? (saved as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

const isTheme = (v: unknown): v is Theme => (THEMES as readonly unknown[]).includes(v);
const isLanguage = (v: unknown): v is Language => (LANGUAGES as readonly unknown[]).includes(v);

/**
 * The saved preferences: each one that is saved and valid, the default for any other (nothing
 * saved, an older save with fewer of them, corrupt JSON, storage that throws).
 */
export function readPreferences(storage: PreferenceStorage | null = browserStorage()): SavedPreferences {
  const saved = savedObject(storage);
  return {
    notificationText: typeof saved?.notificationText === 'boolean' ? saved.notificationText : DEFAULT_PREFERENCES.notificationText,
    theme: isTheme(saved?.theme) ? saved.theme : DEFAULT_PREFERENCES.theme,
    language: isLanguage(saved?.language) ? saved.language : DEFAULT_PREFERENCES.language,
  };
}

/**
 * Saves the preferences (keeping whatever else the saved object holds, e.g. from a newer version
 * of the app). Returns whether they could be saved (full or blocked storage: not).
 */
export function writePreferences(storage: PreferenceStorage | null, prefs: SavedPreferences): boolean {
  if (!storage) return false;
  try {
    const value = { ...savedObject(storage), ...prefs };
    storage.setItem(PREFERENCES_KEY, JSON.stringify(value));
    return true;
  } catch (e) {
    // Full or blocked storage: the preferences hold until the app quits.
    console.warn('[gtedx] the preferences could not be saved:', e);
    return false;
  }
}

/**
 * Shows the theme: `data-theme="light"` or `"dark"` on `<html>`, none for `system` (app.css
 * then follows `prefers-color-scheme`).
 */
export function applyTheme(theme: Theme, root: HTMLElement | null = typeof document === 'undefined' ? null : document.documentElement): void {
  if (!root) return;
  if (theme === 'light' || theme === 'dark') root.setAttribute('data-theme', theme);
  else root.removeAttribute('data-theme');
}
