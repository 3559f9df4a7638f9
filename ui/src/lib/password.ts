// The password form of the Settings dialog: what is checked before change_password is asked
// (the server checks again: 8 to 256 bytes).

/** The fewest characters (code points) of a new password; 8 characters are at least 8 bytes. */
export const MIN_PASSWORD_CHARS = 8;
/** The most bytes (UTF-8) of a password the server takes. */
export const MAX_PASSWORD_BYTES = 256;

export type PasswordField = 'current' | 'new' | 'repeat';
export type PasswordProblem = 'currentMissing' | 'tooShort' | 'tooLong' | 'mismatch';

/**
 * The first thing wrong with the form (and the field to fix), or null when change_password may
 * be asked: the current password given, the new one at least 8 characters and at most 256 bytes,
 * and typed the same twice.
 */
export function checkPasswordChange(
  current: string,
  next: string,
  repeat: string,
): { field: PasswordField; problem: PasswordProblem } | null {
  if (current === '') return { field: 'current', problem: 'currentMissing' };
  if ([...next].length < MIN_PASSWORD_CHARS) return { field: 'new', problem: 'tooShort' };
  if (new TextEncoder().encode(next).length > MAX_PASSWORD_BYTES) return { field: 'new', problem: 'tooLong' };
  if (repeat !== next) return { field: 'repeat', problem: 'mismatch' };
  return null;
}
