// Date and time formatting with Intl, in the app's locale. Formatters are cached per locale.
import type { Locale, Translate } from './i18n';

const cache = new Map<string, Intl.DateTimeFormat>();

type Kind = 'time' | 'weekday' | 'date' | 'dateNoYear' | 'long' | 'longNoYear' | 'calendar' | 'dayTime' | 'dayTimeYear';

function fmt(locale: Locale, kind: Kind): Intl.DateTimeFormat {
  const key = `${locale}|${kind}`;
  let f = cache.get(key);
  if (!f) {
    const opts: Intl.DateTimeFormatOptions = {
      time: { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
      weekday: { weekday: 'short' },
      date: { year: 'numeric', month: '2-digit', day: '2-digit' },
      dateNoYear: { month: 'short', day: 'numeric' },
      long: { year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' },
      longNoYear: { month: 'long', day: 'numeric', weekday: 'long' },
      calendar: { year: 'numeric', month: 'long', day: 'numeric' },
      dayTime: { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
      dayTimeYear: { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' },
    }[kind] as Intl.DateTimeFormatOptions;
    f = new Intl.DateTimeFormat(locale, opts);
    cache.set(key, f);
  }
  return f;
}

/** The largest distance from the epoch a `Date` can hold (±100,000,000 days), in ms. */
const MAX_DATE_MS = 8.64e15;

/**
 * Whether `ts` is a usable time (ms since the epoch). A server timestamp may be absent (null,
 * undefined) or out of range; formatting such a value must not throw (`Intl` and `toISOString`
 * both throw a RangeError for an invalid date), so every formatter here checks this first.
 */
export function isValidTime(ts: unknown): ts is number {
  return typeof ts === 'number' && Number.isFinite(ts) && Math.abs(ts) <= MAX_DATE_MS;
}

/** The ISO 8601 form for a `<time datetime>` attribute, or undefined for an invalid time (no attribute). */
export function isoTime(ts: unknown): string | undefined {
  return isValidTime(ts) ? new Date(ts).toISOString() : undefined;
}

/** Local midnight at the start of the day containing `ts`. */
export function startOfDay(ts: number): number {
  const d = new Date(ts);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole calendar days from the day of `ts` to the day of `now` (0 = same day). */
export function daysAgo(ts: number, now: number): number {
  // Round, because a day across a DST change is 23 or 25 hours long.
  return Math.round((startOfDay(now) - startOfDay(ts)) / 86_400_000);
}

/** HH:MM, 24-hour ('' for an invalid time). */
export function formatTime(ts: number, locale: Locale): string {
  if (!isValidTime(ts)) return '';
  return fmt(locale, 'time').format(ts);
}

/**
 * The time shown in the conversation list: today HH:MM; within the last week the weekday;
 * this year month and day; older the full date.
 */
export function formatListTime(ts: number, now: number, locale: Locale): string {
  if (!ts || !isValidTime(ts)) return '';
  if (!isValidTime(now)) return fmt(locale, 'date').format(ts);
  const days = daysAgo(ts, now);
  if (days <= 0) return formatTime(ts, locale);
  if (days < 7) return fmt(locale, 'weekday').format(ts);
  if (new Date(ts).getFullYear() === new Date(now).getFullYear()) return fmt(locale, 'dateNoYear').format(ts);
  return fmt(locale, 'date').format(ts);
}

/**
 * The text of a day separator: Today, Yesterday, or the date (with the year if not this one);
 * '' for an invalid time.
 */
export function formatDay(ts: number, now: number, locale: Locale, t: Translate): string {
  if (!isValidTime(ts)) return '';
  if (!isValidTime(now)) return fmt(locale, 'long').format(ts);
  const days = daysAgo(ts, now);
  if (days === 0) return t('chat.today');
  if (days === 1) return t('chat.yesterday');
  if (new Date(ts).getFullYear() === new Date(now).getFullYear()) return fmt(locale, 'longNoYear').format(ts);
  return fmt(locale, 'long').format(ts);
}

/** Full date and time, for tooltips ('' for an invalid time). */
export function formatFull(ts: number, locale: Locale): string {
  if (!isValidTime(ts)) return '';
  return `${fmt(locale, 'long').format(ts)} ${formatTime(ts, locale)}`;
}

/** A calendar date with the year ("March 3, 2026", "2026年3月3日"); '' for an invalid time. */
export function formatDate(ts: number, locale: Locale): string {
  if (!isValidTime(ts)) return '';
  return fmt(locale, 'calendar').format(ts);
}

/**
 * The end of something that lasts a while ("Paused until …"): HH:MM when it is today, else with
 * the date ("Mar 8, 08:00"; the year too when it is another year); '' for an invalid time.
 */
export function formatUntil(ts: number, now: number, locale: Locale): string {
  return formatAt(ts, now, locale);
}

/**
 * When something happened or will ("checked 09:41"): HH:MM when it is today, else with the date
 * ("Mar 8, 08:00"; the year too when it is another year); '' for an invalid time.
 */
export function formatAt(ts: number, now: number, locale: Locale): string {
  if (!isValidTime(ts)) return '';
  if (isValidTime(now) && daysAgo(ts, now) === 0) return formatTime(ts, locale);
  const sameYear = isValidTime(now) && new Date(ts).getFullYear() === new Date(now).getFullYear();
  return fmt(locale, sameYear ? 'dayTime' : 'dayTimeYear').format(ts);
}
