// The connection banner's text.
import type { ConnectionState } from './api';
import type { Translate } from './i18n';

/**
 * Banner text for a connection state, or null when online (no banner).
 * `remainingMs` is what is left of a reconnect delay (defaults to the whole delay).
 */
export function bannerText(state: ConnectionState, t: Translate, remainingMs?: number): string | null {
  switch (state.state) {
    case 'online':
      return null;
    case 'connecting':
      return t('banner.connecting');
    case 'offline':
      return t('banner.offline');
    case 'failed':
      return t('banner.failed');
    case 'reconnecting': {
      const ms = Math.max(0, remainingMs ?? state.delayMs);
      const s = Math.ceil(ms / 1000);
      return s > 0
        ? t('banner.reconnecting', { s, n: state.attempt })
        : t('banner.reconnectingNow', { n: state.attempt });
    }
    default:
      return null;
  }
}
