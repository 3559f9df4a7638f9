// Owns the main screen's layout: the conversation list and the open chat side by side, or, in a
// narrow window (a tiling window manager's column, a phone-sized window), one pane at a time: the
// list, or the open chat with a back button.

/** Narrower than this (px) the window shows one pane at a time. */
export const SINGLE_PANE_BELOW_PX = 600;

/** Which panes show, and whether the chat has a back button to the list. */
export type Panes = { list: boolean; chat: boolean; back: boolean };

export function panesFor(windowWidth: number, conversationOpen: boolean): Panes {
  if (windowWidth >= SINGLE_PANE_BELOW_PX) return { list: true, chat: true, back: false };
  return conversationOpen ? { list: false, chat: true, back: true } : { list: true, chat: false, back: false };
}
