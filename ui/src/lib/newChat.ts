// Rules of the new chat dialog.
import { toAppError, type UserInfo } from './api';
import { errorText, type Locale, type Translate } from './i18n';
import { BLOCKED, peerHandle } from './privacy';

/**
 * A group needs at least this many members besides me: with only one other person it would be
 * a 1:1 chat (which "Start chat" opens, de-duplicated, instead).
 */
export const MIN_GROUP_OTHERS = 2;

/** How many more people must be added before a group can be created (0 = enough). */
export function membersMissing(otherMembers: number): number {
  return Math.max(0, MIN_GROUP_OTHERS - otherMembers);
}

/** Why a group cannot be created yet, or null when it can. */
export function groupProblem(otherMembers: number, title: string): 'needMembers' | 'needTitle' | null {
  if (membersMissing(otherMembers) > 0) return 'needMembers';
  if (!title.trim()) return 'needTitle';
  return null;
}

// Starting a 1:1 chat with someone by username: the new chat dialog's "Start chat" and the quick
// switcher's "Start a chat with @name" do it the same way (`lookUpPerson`, then `App.startChat`,
// whose refusal `startChatErrorText` words).

/** A username as typed: spaces around it and a leading `@` do not count. */
export function typedUsername(typed: string): string {
  return typed.trim().replace(/^@/, '');
}

/** The person a typed username names, or why there is none (a sentence). */
export async function lookUpPerson(
  typed: string,
  myUid: string | undefined,
  find: (a: { username: string }) => Promise<UserInfo | null>,
  t: Translate,
): Promise<{ user: UserInfo } | { problem: string }> {
  const username = typedUsername(typed);
  if (!username) return { problem: t('newChat.enterUsername') };
  const user = await find({ username });
  if (!user) return { problem: t('newChat.notFound', { username }) };
  if (user.uid === myUid) return { problem: t('newChat.isYou') };
  return { user };
}

/** Why a chat with `user` could not be started: one of the two blocked the other. */
export function blockedChatText(user: Pick<UserInfo, 'username' | 'displayName'> | null, t: Translate): string {
  return t('newChat.blocked', { name: peerHandle(user, t) });
}

/** Why starting a chat with `user` failed, in words (`blocked` names them). */
export function startChatErrorText(e: unknown, user: Pick<UserInfo, 'username' | 'displayName'> | null, t: Translate, locale: Locale): string {
  const err = toAppError(e);
  return err.code === BLOCKED ? blockedChatText(user, t) : errorText(locale, err);
}
