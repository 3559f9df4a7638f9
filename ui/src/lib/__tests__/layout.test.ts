// The main screen's layout: two panes side by side, or one at a time in a narrow window.
import { describe, expect, it } from 'vitest';
import { panesFor, SINGLE_PANE_BELOW_PX } from '../layout';

describe('panesFor', () => {
  it('wide: the list and the chat (or its placeholder) side by side, no back button', () => {
    expect(panesFor(1024, true)).toEqual({ list: true, chat: true, back: false });
    expect(panesFor(SINGLE_PANE_BELOW_PX, false)).toEqual({ list: true, chat: true, back: false });
  });

  it('narrow: the list until a conversation opens, then the chat with a back button', () => {
    expect(SINGLE_PANE_BELOW_PX).toBe(600);
    expect(panesFor(599, false)).toEqual({ list: true, chat: false, back: false });
    expect(panesFor(599, true)).toEqual({ list: false, chat: true, back: true });
    expect(panesFor(320, true)).toEqual({ list: false, chat: true, back: true });
  });
});
