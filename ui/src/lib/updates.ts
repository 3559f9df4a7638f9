// What the UI says about the self-update: the Settings status line for each state, a download's
// progress, and an update error (a sentence of its own for each code; for `update_install` the
// backend's message too, which may say why).
import type { AppError, UpdateStatus } from './api';
import { asSentence, errorText, type Locale, type Translate } from './i18n';
import { formatSize } from './size';
import { formatAt, isValidTime } from './time';

/** How far a download is, in whole percent (0–100); null when its size is not known. */
export function downloadPercent(received: number, total: number | null): number | null {
  if (typeof total !== 'number' || !Number.isFinite(total) || total <= 0) return null;
  const part = Number.isFinite(received) && received > 0 ? received / total : 0;
  return Math.min(100, Math.floor(part * 100));
}

/**
 * The status line of the About section: "Checking for updates…", "You're up to date (checked
 * 09:41)", "Downloading version 0.2.0… 42%" (or the bytes so far when the size is not known),
 * "Version 0.2.0 is ready", "Installing version 0.2.0…", or the failure's sentence; '' when nothing
 * was checked yet.
 */
export function updateStatusText(status: UpdateStatus, t: Translate, locale: Locale, now: number): string {
  const state = status.state;
  switch (state.kind) {
    case 'idle':
      return '';
    case 'checking':
      return t('settings.updateChecking');
    case 'upToDate':
      return isValidTime(status.checkedAt)
        ? t('settings.updateUpToDateAt', { time: formatAt(status.checkedAt, now, locale) })
        : t('settings.updateUpToDate');
    case 'downloading': {
      const percent = downloadPercent(state.received, state.total);
      return percent === null
        ? t('settings.updateDownloadingBytes', { version: state.version, size: formatSize(state.received, locale) })
        : t('settings.updateDownloading', { version: state.version, percent });
    }
    case 'ready':
      return t('settings.updateReady', { version: state.version });
    case 'installing':
      return t('settings.updateInstalling', { version: state.version });
    case 'failed':
      return updateErrorView(locale, state.error).text;
  }
}

export type UpdateErrorView = { text: string; detail?: string };

/**
 * An update error as the UI shows it: its sentence, and for `update_install` the backend's message
 * (as a sentence) as the detail, when it says something. Other codes never show the backend's
 * (technical) message.
 */
export function updateErrorView(locale: Locale, error: AppError): UpdateErrorView {
  const text = errorText(locale, error);
  const detail = error.code === 'update_install' ? asSentence(error.message ?? '') : '';
  return detail ? { text, detail } : { text };
}
