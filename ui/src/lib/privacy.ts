// Blocking and muting: the blocked list's merging rules and the sentences around them.
import type { AppError, ImEvent, UserInfo } from './api';
import { errorText, type Locale, type Translate } from './i18n';

/** The error code of a refusal because one of the two has blocked the other. */
export const BLOCKED = 'blocked';

/** A block or unblock that happened while the blocked list was being fetched (by uid). */
export type BlockChange = { blocked: boolean; user?: UserInfo | null };
export type BlockJournal = Map<string, BlockChange>;

/** Someone known only by their uid (their names come with the next `blocked_users`). */
export function unknownUser(uid: string): UserInfo {
  return { uid, username: '', displayName: '' };
}

/**
 * The blocked list after a block (moved to the front: most recently blocked first) or an unblock
 * (taken out). A block without names keeps the ones already held. Returns the same array when
 * nothing changes.
 */
export function applyBlock(list: readonly UserInfo[], uid: string, blocked: boolean, user?: UserInfo | null): UserInfo[] {
  const idx = list.findIndex((u) => u.uid === uid);
  if (!blocked) {
    if (idx === -1) return list as UserInfo[];
    return list.filter((u) => u.uid !== uid);
  }
  const held = idx === -1 ? null : list[idx];
  const named = user && (user.username || user.displayName) ? { ...user, uid } : null;
  const entry = named ?? held ?? unknownUser(uid);
  if (idx === 0 && entry === held) return list as UserInfo[];
  return [entry, ...list.filter((u) => u.uid !== uid)];
}

/**
 * A fetched blocked list (most recently blocked first) with the blocks and unblocks that happened
 * while it was on its way applied on top, in the order they happened; no duplicates.
 */
export function mergeBlocked(fetched: readonly UserInfo[], journal?: BlockJournal): UserInfo[] {
  const seen = new Set<string>();
  let list: UserInfo[] = [];
  for (const u of fetched) {
    if (!u || typeof u.uid !== 'string' || seen.has(u.uid)) continue;
    seen.add(u.uid);
    list.push(u);
  }
  if (journal) for (const [uid, change] of journal) list = applyBlock(list, uid, change.blocked, change.user);
  return list;
}

/** "Tom (@tom)", or just the name (or the @username) when the other is not known. */
export function personLabel(p: Pick<UserInfo, 'username' | 'displayName'>): string {
  const name = p.displayName.trim();
  if (name && p.username) return `${name} (@${p.username})`;
  return name || (p.username ? `@${p.username}` : '');
}

/** How to name a 1:1 peer in a short sentence: `@username`, else the display name. */
export function peerHandle(p: Pick<UserInfo, 'username' | 'displayName'> | null | undefined, t: Translate): string {
  if (p?.username) return `@${p.username}`;
  return p?.displayName.trim() || t('blocked.unknown');
}

/** The sentence of an `addedToGroup` notice: "Tom (@tom) added you to “Title”" (or "a group"). */
export function addedToGroupText(e: Pick<Extract<ImEvent, { kind: 'addedToGroup' }>, 'title' | 'by'>, t: Translate): string {
  const who = personLabel(e.by) || t('blocked.unknown');
  const title = e.title.trim() ? t('added.titled', { title: e.title.trim() }) : t('added.untitled');
  return t('added.text', { who, title });
}

/**
 * Why an own message was not sent, in words. A `blocked` refusal in a 1:1 chat names the peer:
 * "@jerry isn't accepting your messages", or, when the user blocked them, "you blocked @jerry".
 * Anything else is the error's own text.
 */
export function failureReason(
  error: AppError,
  ctx: { peer: Pick<UserInfo, 'username' | 'displayName'> | null; blockedByMe: boolean },
  t: Translate,
  locale: Locale,
): string {
  if (error.code === BLOCKED && ctx.peer) {
    const name = peerHandle(ctx.peer, t);
    return ctx.blockedByMe ? t('block.youBlocked', { name }) : t('block.notAccepting', { name });
  }
  return errorText(locale, error);
}

/** Error codes of a command that failed only because there is no connection (worth no toast in the background). */
const OFFLINE_CODES = new Set(['offline', 'disconnected', 'timeout', 'not_connected', 'unauthenticated']);

export function isOfflineError(e: AppError): boolean {
  return OFFLINE_CODES.has(e.code);
}
