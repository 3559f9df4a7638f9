// Modal dialogs and menus: keeping keyboard focus inside a dialog while it is open, moving it
// between the items of a menu.

/** What Tab can land on inside a dialog. */
export const FOCUSABLE =
  'button:not(:disabled), input:not(:disabled), textarea:not(:disabled), select:not(:disabled), a[href], [tabindex]:not([tabindex="-1"])';

/**
 * For a `keydown` inside a modal dialog: Tab from the last focusable element goes to the first,
 * Shift+Tab from the first to the last (and from the dialog itself, or from anything outside it,
 * into it), so focus never leaves the dialog. Returns whether it moved the focus.
 */
export function keepFocusInside(e: KeyboardEvent, dialog: HTMLElement): boolean {
  if (e.key !== 'Tab') return false;
  const focusable = [...dialog.querySelectorAll<HTMLElement>(FOCUSABLE)];
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (!first || !last) {
    e.preventDefault();
    return false;
  }
  const active = document.activeElement;
  const inside = active instanceof HTMLElement && focusable.includes(active);
  let target: HTMLElement | null = null;
  if (e.shiftKey && (active === first || !inside)) target = last;
  else if (!e.shiftKey && (active === last || !inside)) target = first;
  if (!target) return false;
  e.preventDefault();
  target.focus();
  return true;
}

/**
 * For a `keydown` in a menu (`role="menu"`): the index of the item to focus next (↓ / ↑ wrap
 * around, Home, End), or null when the key is not one of those. `current` is the index of the
 * focused item (-1: none).
 */
export function menuKeyTarget(key: string, current: number, count: number): number | null {
  if (count <= 0) return null;
  switch (key) {
    case 'ArrowDown':
      return current < 0 ? 0 : (current + 1) % count;
    case 'ArrowUp':
      return current < 0 ? count - 1 : (current - 1 + count) % count;
    case 'Home':
      return 0;
    case 'End':
      return count - 1;
    default:
      return null;
  }
}

/**
 * The modal dialogs open now, the most recent last: Esc closes the topmost one even when the
 * focus is not inside it (a toast's button was clicked, say). Each `Modal` registers itself while
 * it is mounted.
 */
const openModals: (() => void)[] = [];

/** Registers an open modal dialog's close; returns the function that unregisters it. */
export function registerModal(close: () => void): () => void {
  const entry = () => close();
  openModals.push(entry);
  return () => {
    const at = openModals.lastIndexOf(entry);
    if (at !== -1) openModals.splice(at, 1);
  };
}

/** Closes the topmost modal dialog; false when none is open. */
export function closeTopModal(): boolean {
  const top = openModals[openModals.length - 1];
  if (!top) return false;
  top();
  return true;
}
