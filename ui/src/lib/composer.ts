// Composer logic: what a key press does, the character limit, the typing notifications, and the
// composer's context: replying to a message (a banner quoting it) or editing one (the banner shows
// the original; Enter saves; leaving puts back what was being written before).
import type { ReplyPreview } from './api';

/**
 * The server's default limit (`max_text_chars`), counted in Unicode code points like the Rust
 * side. Only a fallback: the real limit comes from `app_info().maxTextChars`.
 */
export const DEFAULT_MAX_TEXT_CHARS = 4096;
/** Send `set_typing(true)` at most this often while typing. */
export const TYPING_INTERVAL_MS = 3000;

export type KeyLike = {
  key: string;
  shiftKey?: boolean;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  isComposing?: boolean;
  keyCode?: number;
};

/**
 * What a keydown in the composer does: Enter sends, Shift+Enter (and Alt+Enter) insert a new
 * line, and the Enter that confirms an IME composition (Chinese, Japanese… input) does nothing
 * here so the IME gets it. Ctrl/Cmd+Enter also send.
 */
export function composerKeyAction(e: KeyLike): 'send' | 'newline' | 'none' {
  if (e.key !== 'Enter') return 'none';
  // During composition browsers report isComposing, and some (Safari/WebKit) only keyCode 229.
  if (e.isComposing || e.keyCode === 229) return 'none';
  if (e.shiftKey || e.altKey) return 'newline';
  return 'send';
}

/** Length in code points (what the server counts), not UTF-16 units. */
export function charCount(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** Trimmed text to send, or null when there is nothing to send. */
export function textToSend(text: string): string | null {
  const trimmed = text.trim();
  return trimmed ? trimmed : null;
}

/** A usable limit from `app_info().maxTextChars` (a positive integer), else the default. */
export function normalizeMaxChars(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 1 ? Math.floor(value) : DEFAULT_MAX_TEXT_CHARS;
}

/**
 * Where the counter appears: 296 characters before the limit (3,800 of 4,096), but never
 * earlier than 90% of it (so a small limit does not show the counter all the time).
 */
export function counterThreshold(max: number): number {
  return Math.max(Math.floor(max * 0.9), max - 296);
}

export type LimitInfo = { count: number; show: boolean; over: boolean };

export function limitInfo(text: string, max = DEFAULT_MAX_TEXT_CHARS, threshold = counterThreshold(max)): LimitInfo {
  // Cheap exit: a UTF-16 length under the threshold means fewer code points too.
  if (text.length < threshold) return { count: text.length, show: false, over: false };
  const count = charCount(text);
  return { count, show: count >= threshold, over: count > max };
}

/**
 * Rate-limits typing notifications: `true` at most every `intervalMs` while the user types,
 * `false` once when the text is cleared or sent (only if `true` was sent before).
 */
export class TypingNotifier {
  private lastTrue = -Infinity;
  private active = false;

  constructor(
    private readonly send: (typing: boolean) => void,
    private readonly now: () => number = Date.now,
    private readonly intervalMs = TYPING_INTERVAL_MS,
  ) {}

  /** Call on every input event with the composer's current text. */
  input(text: string): void {
    if (text.trim() === '') {
      this.stop();
      return;
    }
    const t = this.now();
    if (!this.active || t - this.lastTrue >= this.intervalMs) {
      this.active = true;
      this.lastTrue = t;
      this.send(true);
    }
  }

  /** Call when the message was sent, the text cleared, or the conversation left. */
  stop(): void {
    if (!this.active) return;
    this.active = false;
    this.lastTrue = -Infinity;
    this.send(false);
  }
}

/** Replying to a message: the banner quotes it, and the message sent carries its `seq`. */
export type ReplyContext = { kind: 'reply'; to: ReplyPreview };
/**
 * Editing an own message: the composer holds its text; `restore` is what the composer held before
 * (the text being written, and a reply), put back when the edit is saved or cancelled.
 */
export type EditContext = {
  kind: 'edit';
  seq: number;
  clientId: string;
  original: string;
  restore: { text: string; reply: ReplyContext | null };
};
export type ComposerContext = ReplyContext | EditContext;
/** A conversation's composer: its text and its context (none: a new message). */
export type ComposerState = { text: string; context: ComposerContext | null };

/** Reply to a message (an edit in progress is left: what was being written comes back). */
export function startReply(s: ComposerState, to: ReplyPreview): ComposerState {
  const base = s.context?.kind === 'edit' ? cancelContext(s) : s;
  return { text: base.text, context: { kind: 'reply', to } };
}

/**
 * Edit a message: the composer takes its text; what it held (text, reply) is kept to come back
 * afterwards. Editing another message meanwhile keeps what was held before the first edit.
 */
export function startEdit(s: ComposerState, m: { seq: number; clientId: string; text: string }): ComposerState {
  const restore = s.context?.kind === 'edit' ? s.context.restore : { text: s.text, reply: s.context };
  return { text: m.text, context: { kind: 'edit', seq: m.seq, clientId: m.clientId, original: m.text, restore } };
}

/** × or Esc: an edit is left (what was held before comes back); a reply is dropped (the text stays). */
export function cancelContext(s: ComposerState): ComposerState {
  if (s.context?.kind === 'edit') return { text: s.context.restore.text, context: s.context.restore.reply };
  if (s.context?.kind === 'reply') return { text: s.text, context: null };
  return s;
}

/** What Enter does while editing: nothing changed (just leave), empty (not allowed), or save this text. */
export type EditSave = { kind: 'unchanged' } | { kind: 'empty' } | { kind: 'save'; text: string };

/** While editing: what saving would do (null: not editing). */
export function editSave(s: ComposerState): EditSave | null {
  if (s.context?.kind !== 'edit') return null;
  const body = textToSend(s.text);
  if (body === null) return { kind: 'empty' };
  if (body === textToSend(s.context.original)) return { kind: 'unchanged' };
  return { kind: 'save', text: body };
}

/** A message was sent: the composer is empty, and the reply (if any) went with it. */
export function afterSend(): ComposerState {
  return { text: '', context: null };
}

/**
 * "Re-edit" on a recall line: the recalled text comes back into the composer (after what is
 * written there, on a new line), replying to what it replied to. An edit in progress is left first.
 */
export function reEdit(s: ComposerState, text: string, replyTo: ReplyPreview | null): ComposerState {
  const base = s.context?.kind === 'edit' ? cancelContext(s) : s;
  return {
    text: base.text.trim() ? `${base.text.replace(/\s+$/, '')}\n${text}` : text,
    context: replyTo ? { kind: 'reply', to: replyTo } : base.context,
  };
}

/** The message with this seq can no longer be edited (recalled, deleted): an edit of it ends. */
export function withoutMessage(s: ComposerState, seq: number): ComposerState {
  return s.context?.kind === 'edit' && s.context.seq === seq ? cancelContext(s) : s;
}

/**
 * What a key does for the composer's context: Esc leaves a reply or an edit; ↑ in an empty
 * composer edits the user's last message (as in Telegram). 'none': the key is not for this.
 */
export function contextKeyAction(e: KeyLike, text: string, hasContext: boolean): 'cancel' | 'editLast' | 'none' {
  if (e.isComposing || e.keyCode === 229 || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey) return 'none';
  if (e.key === 'Escape' && hasContext) return 'cancel';
  if (e.key === 'ArrowUp' && text === '') return 'editLast';
  return 'none';
}
