// Modal dialogs: keeping keyboard focus inside while one is open.

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
