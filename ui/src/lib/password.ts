// The password form of the Settings dialog: what is checked before change_password is asked.
// The server counts a password's bytes (UTF-8: 8 to 256), so the form counts them too, and its
// hints and errors say bytes.

/** The fewest bytes (UTF-8) of a password the server takes. */
export const MIN_PASSWORD_BYTES = 8;
/** The most bytes (UTF-8) of a password the server takes. */
export const MAX_PASSWORD_BYTES = 256;

export type PasswordField = 'current' | 'new' | 'repeat';
export type PasswordProblem = 'currentMissing' | 'tooShort' | 'tooLong' | 'mismatch';

/** A password's length as the server counts it. */
export function passwordBytes(password: string): number {
  return new TextEncoder().encode(password).length;
}

/**
 * The first thing wrong with the form (and the field to fix), or null when change_password may
 * be asked: the current password given, the new one 8 to 256 bytes, and typed the same twice.
 */
export function checkPasswordChange(
  current: string,
  next: string,
  repeat: string,
): { field: PasswordField; problem: PasswordProblem } | null {
  if (current === '') return { field: 'current', problem: 'currentMissing' };
  const bytes = passwordBytes(next);
  if (bytes < MIN_PASSWORD_BYTES) return { field: 'new', problem: 'tooShort' };
  if (bytes > MAX_PASSWORD_BYTES) return { field: 'new', problem: 'tooLong' };
  if (repeat !== next) return { field: 'repeat', problem: 'mismatch' };
  return null;
}
