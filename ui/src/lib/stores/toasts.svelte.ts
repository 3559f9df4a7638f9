// Error toasts (bottom right): backend errors, failed commands, and anything unexpected that
// would otherwise fail silently (see `report` and `globalErrors.ts`).
import { isAppError, type AppError } from '../api';
import { errorText, locale, t } from '../i18n';

/** An error (the default), or news that something worked (`info`). */
export type Toast = { id: number; text: string; kind?: 'info' };

/** How long a toast stays. */
export const TOAST_MS = 6000;
/** The most toasts shown at once (the oldest go first). */
export const MAX_TOASTS = 4;

/** The sentence for something that went wrong: a backend error's text, or the error's message. */
export function describeError(e: unknown): string {
  if (isAppError(e)) return errorText(locale, { code: e.code, message: typeof e.message === 'string' ? e.message : '' });
  const detail = e instanceof Error ? e.message : typeof e === 'string' ? e : '';
  return detail ? t('error.unexpected', { detail }) : t('error.generic');
}

export class ToastStore {
  toasts = $state.raw<Toast[]>([]);
  private seq = 0;

  /**
   * Shows an error. The same text already on screen is not shown twice (a failure that repeats,
   * e.g. an error event per retry, does not bury everything else).
   */
  show(err: AppError | string): void {
    const text = typeof err === 'string' ? err : errorText(locale, err);
    if (this.toasts.some((x) => x.text === text)) return;
    const id = ++this.seq;
    this.toasts = [...this.toasts, { id, text }].slice(-MAX_TOASTS);
    setTimeout(() => this.dismiss(id), TOAST_MS);
  }

  /** Says that something worked (e.g. "Password changed."); goes by itself like the errors. */
  info(text: string): void {
    if (this.toasts.some((x) => x.text === text)) return;
    const id = ++this.seq;
    this.toasts = [...this.toasts, { id, text, kind: 'info' as const }].slice(-MAX_TOASTS);
    setTimeout(() => this.dismiss(id), TOAST_MS);
  }

  /**
   * Something failed that the user should know about, with no better place to say so: logged
   * (with its stack, for a bug report) and shown as a toast.
   */
  report(e: unknown, context?: string): void {
    console.error(context ? `[gtedx] ${context}:` : '[gtedx]', e);
    this.show(describeError(e));
  }

  dismiss(id: number): void {
    this.toasts = this.toasts.filter((x) => x.id !== id);
  }
}
