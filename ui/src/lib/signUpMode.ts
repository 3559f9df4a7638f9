// Who may create an account on the server typed on the sign-up form (`server_sign_up_mode`):
// anyone, people with an invite code, or nobody. The form asks as the address settles and shows
// an invite code field or a "no sign-ups here" notice. Only ever a hint: when the question cannot
// be asked or fails, the form behaves as for an open server (sign_up then says what is wrong),
// and signing in never waits for it.
import type { SignUpMode } from './api';
import { signInDecision, type ServerView } from './serverAddress';

/** How long the sign-up form waits after the server address last changed before asking. */
export const SIGN_UP_MODE_DELAY_MS = 400;

/** The answer for one server (the trimmed input). */
export type SignUpModeCheck = { input: string; mode: SignUpMode };

/** An answer as the UI uses it: anything but `invite` or `closed` is an open server. */
export function normalizeSignUpMode(mode: unknown): SignUpMode {
  return mode === 'invite' || mode === 'closed' ? mode : 'open';
}

/**
 * Whether to ask `server_sign_up_mode` about a server now, and with which `allowInsecure`: not
 * for an empty field, nor for what is not an address or is unencrypted without the person's
 * consent (sign_up would not go ahead either; the form is as for an open server meanwhile).
 */
export function signUpModeQuestion(
  input: string,
  view: ServerView,
  allowInsecure: boolean,
): { ask: true; allowInsecure: boolean } | { ask: false } {
  if (!input) return { ask: false };
  const decision = signInDecision(view, allowInsecure);
  return decision.go ? { ask: true, allowInsecure: decision.allowInsecure } : { ask: false };
}

/** What a sign_up refusal tells about the server (so that the form shows it), or null. */
export function modeFromSignUpError(code: string): SignUpMode | null {
  switch (code) {
    case 'sign_up_closed':
      return 'closed';
    case 'invite_required':
    case 'invite_invalid':
      return 'invite';
    default:
      return null;
  }
}
