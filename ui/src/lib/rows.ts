// Turns the ordered messages of a conversation into the rows of the message view: a day
// separator before the first message of each local calendar day, for group chats a flag telling
// whether to show the sender's name (first of a run by the same sender), and a flag on the first
// message that came in while the user was scrolled up (the "New messages" divider is drawn in its
// row, above it: a divider that comes or goes only changes that row's height, which the virtual
// list measures and keeps the view steady for, instead of shifting every row after it).
import type { UiMessage } from './api';
import { isValidTime } from './time';

export type DayRow = { kind: 'day'; key: string; day: string; timestamp: number };
export type MessageRow = {
  kind: 'message';
  key: string;
  message: UiMessage;
  /** First message of a run from the same sender on the same day. */
  firstOfGroup: boolean;
  /** The "New messages" divider goes above it (see `BottomPin.dividerBefore`). */
  newMessagesAbove: boolean;
};
export type Row = DayRow | MessageRow;

/** Local calendar day as YYYY-MM-DD. */
export function dayKey(ts: number): string {
  const d = new Date(ts);
  const m = d.getMonth() + 1;
  const day = d.getDate();
  return `${d.getFullYear()}-${m < 10 ? '0' : ''}${m}-${day < 10 ? '0' : ''}${day}`;
}

/** The rows; `newMessagesBefore`: the clientId of the message the "New messages" divider goes above. */
export function buildRows(messages: readonly UiMessage[], newMessagesBefore: string | null = null): Row[] {
  const rows: Row[] = [];
  let lastDay = '';
  let lastFrom: string | null = null;
  const seen = new Set<string>();
  for (const m of messages) {
    // A message without a usable time (absent or broken server timestamp) stays with the day
    // before it: no separator of its own, and nothing that would format an invalid date.
    const day = isValidTime(m.timestamp) ? dayKey(m.timestamp) : lastDay;
    if (day !== lastDay) {
      // Clock skew can make a day come back; keys must stay unique for the keyed list.
      const key = seen.has(day) ? `d:${day}:${rows.length}` : `d:${day}`;
      seen.add(day);
      rows.push({ kind: 'day', key, day, timestamp: m.timestamp });
      lastDay = day;
      lastFrom = null;
    }
    rows.push({
      kind: 'message',
      key: `m:${m.clientId}`,
      message: m,
      firstOfGroup: m.from !== lastFrom,
      newMessagesAbove: m.clientId === newMessagesBefore,
    });
    lastFrom = m.from;
  }
  return rows;
}
