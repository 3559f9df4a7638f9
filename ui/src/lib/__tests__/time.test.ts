import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { daysAgo, formatDay, formatFull, formatListTime, formatTime, formatUntil, isoTime, isValidTime } from '../time';
import { createTranslator } from '../i18n';

// Wednesday 15 May 2024, 14:30 local time.
const now = new Date(2024, 4, 15, 14, 30).getTime();
const at = (y: number, mo: number, d: number, h = 12, mi = 0) => new Date(y, mo, d, h, mi).getTime();

describe('formatListTime', () => {
  it('shows HH:MM for today (24-hour, zero-padded)', () => {
    expect(formatListTime(at(2024, 4, 15, 9, 5), now, 'en')).toBe('09:05');
    expect(formatListTime(at(2024, 4, 15, 0, 1), now, 'en')).toBe('00:01');
    expect(formatListTime(at(2024, 4, 15, 9, 5), now, 'zh-CN')).toBe('09:05');
  });

  it('shows the weekday within the last week', () => {
    expect(formatListTime(at(2024, 4, 14, 23, 59), now, 'en')).toBe('Tue');
    expect(formatListTime(at(2024, 4, 9), now, 'en')).toBe('Thu');
    expect(formatListTime(at(2024, 4, 14), now, 'zh-CN')).toBe('周二');
  });

  it('shows a date for anything older', () => {
    expect(formatListTime(at(2024, 4, 8), now, 'en')).toBe('May 8');
    expect(formatListTime(at(2024, 4, 8), now, 'zh-CN')).toBe('5月8日');
    expect(formatListTime(at(2023, 11, 25), now, 'en')).toBe('12/25/2023');
    expect(formatListTime(at(2023, 11, 25), now, 'zh-CN')).toBe('2023/12/25');
  });

  it('is empty for no activity', () => {
    expect(formatListTime(0, now, 'en')).toBe('');
  });
});

describe('formatDay (day separators)', () => {
  const en = createTranslator('en');
  const zh = createTranslator('zh-CN');

  it('says Today and Yesterday', () => {
    expect(formatDay(at(2024, 4, 15, 0, 0), now, 'en', en)).toBe('Today');
    expect(formatDay(at(2024, 4, 14, 23, 59), now, 'en', en)).toBe('Yesterday');
    expect(formatDay(at(2024, 4, 14), now, 'zh-CN', zh)).toBe('昨天');
  });

  it('gives the date otherwise, with the year only when it is not this year', () => {
    expect(formatDay(at(2024, 4, 1), now, 'en', en)).toBe('Wednesday, May 1');
    expect(formatDay(at(2023, 4, 1), now, 'en', en)).toBe('Monday, May 1, 2023');
    expect(formatDay(at(2024, 4, 1), now, 'zh-CN', zh)).toBe('5月1日星期三');
  });
});

describe('helpers', () => {
  it('counts calendar days, not 24-hour periods', () => {
    expect(daysAgo(at(2024, 4, 14, 23, 59), at(2024, 4, 15, 0, 1))).toBe(1);
    expect(daysAgo(at(2024, 4, 15, 0, 1), at(2024, 4, 15, 23, 59))).toBe(0);
  });

  it('formats a message time', () => {
    expect(formatTime(at(2024, 4, 15, 18, 7), 'en')).toBe('18:07');
  });
});

describe('bad or absent server timestamps', () => {
  const en = createTranslator('en');
  const bad: unknown[] = [NaN, Infinity, -Infinity, 8.64e15 + 1, -1e20, null, undefined, '2024-05-15', {}];

  it('never throw: formatted as nothing, and no datetime attribute', () => {
    for (const ts of bad) {
      const t = ts as number;
      expect(formatTime(t, 'en'), String(ts)).toBe('');
      expect(formatListTime(t, now, 'en'), String(ts)).toBe('');
      expect(formatDay(t, now, 'zh-CN', en), String(ts)).toBe('');
      expect(formatFull(t, 'en'), String(ts)).toBe('');
      expect(isoTime(ts), String(ts)).toBeUndefined();
      expect(isValidTime(ts)).toBe(false);
    }
  });

  it('a broken "now" still gives a date', () => {
    expect(formatListTime(at(2024, 4, 8), NaN, 'en')).toBe('05/08/2024');
    expect(formatDay(at(2023, 4, 1), NaN, 'en', en)).toBe('Monday, May 1, 2023');
  });

  it('valid times still format (the epoch and the far ends of Date included)', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(isoTime(8.64e15)).toBe('+275760-09-13T00:00:00.000Z');
    expect(formatTime(at(2024, 4, 15, 9, 5), 'en')).toBe('09:05');
  });

  it('no number makes any formatter throw', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double(), fc.integer(), fc.constantFrom(8.64e15, -8.64e15, 8.64e15 + 1)), fc.double(), (ts, nowTs) => {
        formatTime(ts, 'en');
        formatListTime(ts, nowTs, 'zh-CN');
        formatDay(ts, nowTs, 'en', en);
        formatFull(ts, 'zh-CN');
        isoTime(ts);
      }),
    );
  });
});

describe('formatUntil ("Paused until …")', () => {
  it('today: the time only; another day: with the date; another year: with the year', () => {
    expect(formatUntil(at(2024, 4, 15, 23, 59), now, 'en')).toBe('23:59');
    expect(formatUntil(at(2024, 4, 16, 8, 0), now, 'en')).toBe('May 16, 08:00');
    expect(formatUntil(at(2024, 4, 16, 8, 0), now, 'zh-CN')).toBe('5月16日 08:00');
    expect(formatUntil(at(2025, 0, 1, 8, 0), now, 'en')).toBe('Jan 1, 2025, 08:00');
    expect(formatUntil(Number.NaN, now, 'en')).toBe('');
  });
});
