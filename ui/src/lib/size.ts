// Sizes and counts as the UI shows them: "12.3 MB", "1,234".
import type { Locale } from './i18n';

/** The units of `formatSize`, 1,000 apart (decimal, as the desktop's file manager counts). */
const UNITS = ['KB', 'MB', 'GB'] as const;

const oneDecimal = new Map<Locale, Intl.NumberFormat>();
const whole = new Map<Locale, Intl.NumberFormat>();

function cached(map: Map<Locale, Intl.NumberFormat>, locale: Locale, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  let f = map.get(locale);
  if (!f) {
    f = new Intl.NumberFormat(locale, options);
    map.set(locale, f);
  }
  return f;
}

/**
 * A number of bytes in KB, MB or GB with one decimal ("0.0 KB", "12.3 MB", "2.1 GB"): the largest
 * unit it is at least 1 of (1 KB = 1,000 bytes). Anything that is not a size counts as 0.
 */
export function formatSize(bytes: number, locale: Locale): string {
  let value = (Number.isFinite(bytes) && bytes > 0 ? bytes : 0) / 1000;
  let unit = 0;
  // (999.96 KB would round to "1,000.0 KB": it is "1.0 MB".)
  while (value >= 999.95 && unit < UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${cached(oneDecimal, locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(value)} ${UNITS[unit]}`;
}

/** A count with the locale's digit grouping ("12,345"); anything that is not a count is 0. */
export function formatCount(n: number, locale: Locale): string {
  return cached(whole, locale, { maximumFractionDigits: 0 }).format(Number.isFinite(n) && n > 0 ? Math.floor(n) : 0);
}
