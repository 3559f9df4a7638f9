// Rules of the "Group info" dialog: the order of the members, the usernames typed into "Add
// members", the length limits, and what a failed add says.
import { GROUP_REMARK_MAX, GROUP_TITLE_MAX, toAppError, type AppError, type MemberInfo } from './api';
import { errorText, type Locale, type Translate } from './i18n';
import { BLOCKED } from './privacy';

/** The name a member is shown with (display name, else @username, else the uid). */
export function memberName(m: Pick<MemberInfo, 'displayName' | 'username' | 'uid'>): string {
  return m.displayName.trim() || (m.username ? `@${m.username}` : m.uid);
}

/** The manager first, then the user, then by name (then username, then uid: a total order). */
export function compareMembers(a: MemberInfo, b: MemberInfo): number {
  const rank = (m: MemberInfo) => (m.manager ? 0 : m.me ? 1 : 2);
  return (
    rank(a) - rank(b) ||
    memberName(a).localeCompare(memberName(b)) ||
    a.username.localeCompare(b.username) ||
    (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0)
  );
}

export function sortMembers(members: readonly MemberInfo[]): MemberInfo[] {
  return [...members].sort(compareMembers);
}

/** Unicode code points, as the backend counts a title's or remark's length. */
export function charCount(s: string): number {
  return [...s].length;
}

export type FieldProblem = { max: number; length: number } | null;

/** A title the backend would refuse as too long (null: fine; an empty one is fine too). */
export function titleProblem(title: string): FieldProblem {
  const length = charCount(title);
  return length > GROUP_TITLE_MAX ? { max: GROUP_TITLE_MAX, length } : null;
}

export function remarkProblem(remark: string): FieldProblem {
  const length = charCount(remark);
  return length > GROUP_REMARK_MAX ? { max: GROUP_REMARK_MAX, length } : null;
}

/**
 * The usernames typed into "Add members": separated by spaces, commas (also Chinese ones, `、`) or
 * semicolons, a leading `@` dropped, lower-cased (usernames are), each once, in the order typed.
 */
export function parseUsernames(typed: string): string[] {
  const out: string[] = [];
  for (const part of typed.split(/[\s,，、;；]+/u)) {
    const name = part.replace(/^@+/, '').toLowerCase();
    if (name && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * The username an add_members `user_not_found` names: the first of those asked for that its
 * message quotes (`no user named "bob"`); null when it names none of them.
 */
export function unknownUsername(error: AppError, asked: readonly string[]): string | null {
  if (error.code !== 'user_not_found') return null;
  const quoted = [...error.message.matchAll(/"([^"]*)"/g)].map((m) => m[1].replace(/^@/, '').toLowerCase());
  return asked.find((u) => quoted.includes(u)) ?? null;
}

/** What an add that failed did: who of those asked for is a member now (and was not before), who is not. */
export type AddOutcome = { added: string[]; notAdded: string[] };

/** Splits the usernames asked for by whether they became members (`before` / `after`: the member lists). */
export function addOutcome(asked: readonly string[], before: readonly MemberInfo[], after: readonly MemberInfo[]): AddOutcome {
  const had = new Set(before.map((m) => m.username.toLowerCase()));
  const has = new Set(after.map((m) => m.username.toLowerCase()));
  return {
    added: asked.filter((u) => has.has(u) && !had.has(u)),
    notAdded: asked.filter((u) => !has.has(u)),
  };
}

/** Two sentences one after the other (no space after a Chinese full stop). */
const sentences = (parts: readonly string[]) =>
  parts.reduce((all, p) => (!all ? p : /[。！？]$/u.test(all) ? all + p : `${all} ${p}`), '');

const handles = (names: readonly string[], t: Translate) => names.map((u) => `@${u}`).join(t('groupInfo.listSeparator'));

/** Why an add failed, in words: which username is unknown, a block, else the error's sentence. */
export function addErrorText(e: unknown, asked: readonly string[], t: Translate, locale: Locale): string {
  const err = toAppError(e);
  const unknown = unknownUsername(err, asked);
  if (unknown) return t('groupInfo.unknownUser', { username: unknown });
  if (err.code === BLOCKED) return t('groupInfo.blocked');
  return errorText(locale, err);
}

/**
 * The whole sentence after a failed add: why, then what happened to the people asked for
 * (nobody added; or who was added and who was not), so nothing half-done goes unsaid.
 */
export function addFailureText(reason: string, outcome: AddOutcome, t: Translate): string {
  if (outcome.added.length === 0) return sentences([reason, t('groupInfo.nobodyAdded')]);
  if (outcome.notAdded.length === 0) return sentences([reason, t('groupInfo.added', { names: handles(outcome.added, t) })]);
  return sentences([reason, t('groupInfo.partlyAdded', { added: handles(outcome.added, t), missing: handles(outcome.notAdded, t) })]);
}

/** "Added @a, @b." after a successful add (those already members are said to be so). */
export function addSuccessText(outcome: AddOutcome, alreadyMembers: readonly string[], t: Translate): string {
  const parts: string[] = [];
  if (outcome.added.length > 0) parts.push(t('groupInfo.added', { names: handles(outcome.added, t) }));
  if (alreadyMembers.length > 0) parts.push(t('groupInfo.alreadyMembers', { names: handles(alreadyMembers, t) }));
  return sentences(parts);
}
