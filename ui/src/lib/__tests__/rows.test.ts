import { describe, expect, it } from 'vitest';
import { buildRows, dayKey } from '../rows';
import { mergeMessages } from '../messages';
import { msg } from './fixtures';

describe('buildRows', () => {
  it('puts a day separator before the first message of each day, across midnight', () => {
    const m1 = msg({ seq: 1, timestamp: new Date(2024, 0, 1, 23, 58).getTime() });
    const m2 = msg({ seq: 2, timestamp: new Date(2024, 0, 1, 23, 59, 59).getTime() });
    const m3 = msg({ seq: 3, timestamp: new Date(2024, 0, 2, 0, 0, 1).getTime() });
    const rows = buildRows([m1, m2, m3]);
    expect(rows.map((r) => r.kind)).toEqual(['day', 'message', 'message', 'day', 'message']);
    expect(rows[0]).toMatchObject({ kind: 'day', day: '2024-01-01' });
    expect(rows[3]).toMatchObject({ kind: 'day', day: '2024-01-02' });
  });

  it('marks the message the "New messages" divider goes above (in its row: no row added)', () => {
    const m1 = msg({ seq: 1, timestamp: new Date(2024, 0, 1, 10).getTime() });
    const m2 = msg({ seq: 2, timestamp: new Date(2024, 0, 2, 10).getTime() });
    const m3 = msg({ seq: 3, timestamp: new Date(2024, 0, 2, 11).getTime() });
    const above = (rows: ReturnType<typeof buildRows>) =>
      rows.filter((r) => r.kind === 'message' && r.newMessagesAbove).map((r) => (r.kind === 'message' ? r.message.seq : 0));
    expect(above(buildRows([m1, m2, m3], m2.clientId))).toEqual([2]);
    expect(above(buildRows([m1, m2, m3], m3.clientId))).toEqual([3]);
    expect(above(buildRows([m1, m2, m3], 'gone'))).toEqual([]);
    expect(above(buildRows([m1, m2, m3]))).toEqual([]);
    expect(buildRows([m1, m2, m3], m2.clientId).map((r) => r.key)).toEqual(buildRows([m1, m2, m3]).map((r) => r.key));
  });

  it('handles a new year', () => {
    const rows = buildRows([
      msg({ seq: 1, timestamp: new Date(2023, 11, 31, 22, 0).getTime() }),
      msg({ seq: 2, timestamp: new Date(2024, 0, 1, 0, 30).getTime() }),
    ]);
    expect(rows.filter((r) => r.kind === 'day').map((r) => (r.kind === 'day' ? r.day : ''))).toEqual([
      '2023-12-31',
      '2024-01-01',
    ]);
  });

  it('gives every row a unique key, even if the clock goes back a day', () => {
    const rows = buildRows([
      msg({ seq: 1, timestamp: new Date(2024, 0, 1, 10).getTime() }),
      msg({ seq: 2, timestamp: new Date(2024, 0, 2, 10).getTime() }),
      msg({ seq: 3, timestamp: new Date(2024, 0, 1, 11).getTime() }),
    ]);
    const keys = rows.map((r) => r.key);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('marks the first message of a run by the same sender', () => {
    const day = new Date(2024, 0, 1, 10).getTime();
    const rows = buildRows(
      mergeMessages(
        [],
        [
          msg({ seq: 1, from: 'a', timestamp: day }),
          msg({ seq: 2, from: 'a', timestamp: day + 1 }),
          msg({ seq: 3, from: 'b', timestamp: day + 2 }),
          msg({ seq: 4, from: 'a', timestamp: day + 3 }),
        ],
      ),
    );
    const flags = rows.flatMap((r) => (r.kind === 'message' ? [r.firstOfGroup] : []));
    expect(flags).toEqual([true, false, true, true]);
  });

  it('is empty for no messages', () => {
    expect(buildRows([])).toEqual([]);
  });

  it('dayKey pads month and day', () => {
    expect(dayKey(new Date(2024, 2, 5, 8).getTime())).toBe('2024-03-05');
  });
});

describe('messages without a usable time', () => {
  it('get no day separator of their own (they stay with the day before them)', () => {
    const day = new Date(2024, 0, 1, 12, 0).getTime();
    const rows = buildRows([
      msg({ seq: 1, timestamp: NaN }),
      msg({ seq: 2, timestamp: day }),
      msg({ seq: 3, timestamp: undefined as unknown as number }),
      msg({ seq: 4, timestamp: 1e20 }),
      msg({ seq: 5, timestamp: day + 60_000 }),
    ]);
    expect(rows.map((r) => r.kind)).toEqual(['message', 'day', 'message', 'message', 'message', 'message']);
    expect(rows.filter((r) => r.kind === 'day').map((r) => r.day)).toEqual(['2024-01-01']);
  });
});
