// The server field of the sign-in screen: what the backend's `server_address` made of what was
// typed, what to show under the field, and whether signing in may go ahead.
import type { AppError, ServerAddress } from './api';

/** How long the field waits after the last keystroke before asking `server_address`. */
export const SERVER_CHECK_DELAY_MS = 150;

/** `server_address`'s answer (or refusal) for one input (trimmed). */
export type ServerCheck = { input: string; address: ServerAddress | null; error: AppError | null };

export type ServerView =
  /** Nothing to say: not checked yet, empty, or the check itself failed (the backend decides). */
  | { kind: 'unknown' }
  /** Encrypted (`wss://`). */
  | { kind: 'secure'; url: string }
  /** Unencrypted to this computer (the local demo server): fine, said quietly. */
  | { kind: 'local'; url: string }
  /** Unencrypted over the network: only with the person's explicit consent. */
  | { kind: 'insecure'; url: string }
  /** Not a server address (`invalid_server_address`). */
  | { kind: 'invalid'; error: AppError };

export const INVALID_SERVER_ADDRESS = 'invalid_server_address';
export const INSECURE_SERVER = 'insecure_server';

export function serverView(check: ServerCheck | null): ServerView {
  if (!check) return { kind: 'unknown' };
  if (check.error) return check.error.code === INVALID_SERVER_ADDRESS ? { kind: 'invalid', error: check.error } : { kind: 'unknown' };
  const a = check.address;
  if (!a) return { kind: 'unknown' };
  if (a.secure) return { kind: 'secure', url: a.url };
  return a.loopback ? { kind: 'local', url: a.url } : { kind: 'insecure', url: a.url };
}

/** The URL a view names (to notice that the address changed), or null. */
export function viewUrl(view: ServerView): string | null {
  return view.kind === 'secure' || view.kind === 'local' || view.kind === 'insecure' ? view.url : null;
}

export type SignInDecision =
  /** Call sign_in / sign_up, with this `allowInsecure`. */
  | { go: true; allowInsecure: boolean }
  /** Don't: the address is not one (`invalid`), or unencrypted without consent (`insecure`). */
  | { go: false; why: 'invalid' | 'insecure' };

/**
 * Whether submitting the form signs in. An unencrypted address to another computer needs the
 * "Connect without encryption anyway" box ticked, and only then is `allowInsecure` sent.
 */
export function signInDecision(view: ServerView, allowInsecure: boolean): SignInDecision {
  switch (view.kind) {
    case 'invalid':
      return { go: false, why: 'invalid' };
    case 'insecure':
      return allowInsecure ? { go: true, allowInsecure: true } : { go: false, why: 'insecure' };
    default:
      return { go: true, allowInsecure: false };
  }
}
