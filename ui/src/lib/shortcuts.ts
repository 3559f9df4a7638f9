// The app's keyboard shortcuts: the one key map (a key event → an action), how each shortcut is
// written for people (menus, tooltips, `aria-keyshortcuts`), and the conversation Alt+↑ / Alt+↓
// move to. Pure: the main screen (and, for the window's own shortcuts, App.svelte) does the rest.
//
//   Ctrl+K (⌘K)      quick switcher: find a conversation or a person
//   Ctrl+F (⌘F)      message search: the search box over the conversation list (again: its text selected)
//   Ctrl+, (⌘,)      Settings
//   Alt+↑ / Alt+↓    the previous / next conversation of the list
//   Esc              closes the topmost dialog; in a chat, back to the composer (a narrow
//                    window: back to the list)
//   Ctrl+W (⌘W)      close the window (`close_window`)
//   Ctrl+Q (⌘Q)      quit (`quit_app`)
//
// On a Mac ⌘ is the modifier; Ctrl works there too for K, F and , (but not for W and Q, which
// are ⌘ only there, as in every Mac app). Nothing fires while an input method is composing
// (Chinese, Japanese… input): its keys belong to the IME.

export type ShortcutAction =
  | 'quickSwitcher'
  | 'find'
  | 'settings'
  | 'previousConversation'
  | 'nextConversation'
  | 'escape'
  | 'closeWindow'
  | 'quitApp';

export type ShortcutKey = {
  key: string;
  /** The physical key (`KeyK`): a non-Latin keyboard layout still finds Ctrl+K. */
  code?: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  shiftKey?: boolean;
  isComposing?: boolean;
  keyCode?: number;
};

/** Whether this is a Mac (⌘ instead of Ctrl). */
export function isMacPlatform(nav: { platform?: string; userAgent?: string } | undefined): boolean {
  if (!nav) return false;
  return /Mac|iPhone|iPad|iPod/i.test(nav.platform || nav.userAgent || '');
}

/** The Latin letter (or `,`) a key press means, also on a layout whose letters are not Latin. */
function letterOf(e: ShortcutKey): string {
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (/^[a-z,]$/.test(key)) return key;
  const physical = /^Key([A-Z])$/.exec(e.code ?? '');
  return physical ? physical[1].toLowerCase() : key;
}

/** The action of a keydown, or null when it is not one of the app's shortcuts. */
export function shortcutFor(e: ShortcutKey, mac: boolean): ShortcutAction | null {
  // During composition browsers report isComposing, and some (Safari/WebKit) only keyCode 229.
  if (e.isComposing || e.keyCode === 229) return null;
  const ctrl = e.ctrlKey === true;
  const meta = e.metaKey === true;
  const alt = e.altKey === true;
  const shift = e.shiftKey === true;

  if (e.key === 'Escape') return ctrl || meta || alt || shift ? null : 'escape';

  if (alt) {
    if (ctrl || meta || shift) return null;
    if (e.key === 'ArrowUp') return 'previousConversation';
    if (e.key === 'ArrowDown') return 'nextConversation';
    return null;
  }

  if (shift || !(ctrl || meta)) return null;
  if (!mac && meta) return null; // elsewhere ⊞ / Super belongs to the desktop
  if (mac && ctrl && meta) return null;
  const letter = letterOf(e);
  switch (letter) {
    case 'k':
      return 'quickSwitcher';
    case 'f':
      return 'find';
    case ',':
      return 'settings';
    case 'w':
      return mac && !meta ? null : 'closeWindow';
    case 'q':
      return mac && !meta ? null : 'quitApp';
    default:
      return null;
  }
}

/** The shortcuts as written for people ("Ctrl+K", "⌘K") and for `aria-keyshortcuts`. */
const KEYS: Record<Exclude<ShortcutAction, 'escape'>, { key: string; alt?: boolean }> = {
  quickSwitcher: { key: 'K' },
  find: { key: 'F' },
  settings: { key: ',' },
  previousConversation: { key: '↑', alt: true },
  nextConversation: { key: '↓', alt: true },
  closeWindow: { key: 'W' },
  quitApp: { key: 'Q' },
};

/** How a shortcut is written in a tooltip or hint: `Ctrl+K`, `⌘K`, `Alt+↓`, `⌥↓`. */
export function shortcutLabel(action: Exclude<ShortcutAction, 'escape'>, mac: boolean): string {
  const { key, alt } = KEYS[action];
  if (alt) return mac ? `⌥${key}` : `Alt+${key}`;
  return mac ? `⌘${key}` : `Ctrl+${key}`;
}

/** The `aria-keyshortcuts` value of a shortcut (`Control+K`, `Meta+K`, `Alt+ArrowDown`). */
export function ariaKeyShortcuts(action: Exclude<ShortcutAction, 'escape'>, mac: boolean): string {
  const { key, alt } = KEYS[action];
  const aria = key === '↑' ? 'ArrowUp' : key === '↓' ? 'ArrowDown' : key;
  if (alt) return `Alt+${aria}`;
  return `${mac ? 'Meta' : 'Control'}+${aria}`;
}

/**
 * The conversation Alt+↑ (`step` -1) / Alt+↓ (+1) moves to, in the list's order (`ids`): from
 * none open (or one not in the loaded list), the first; at either end, none (no wrapping).
 */
export function adjacentConversation(ids: readonly string[], selectedId: string | null, step: 1 | -1): string | null {
  if (ids.length === 0) return null;
  const at = selectedId === null ? -1 : ids.indexOf(selectedId);
  if (at === -1) return ids[0];
  return ids[at + step] ?? null;
}

/** The message search box (Ctrl+F opens the search and puts the focus there). */
export const SEARCH_INPUT_SELECTOR = '[data-testid="search-input"]';
