// Composer logic: what a key press does, the character limit, and the typing notifications.

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
