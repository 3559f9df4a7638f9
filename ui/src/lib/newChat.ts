// Rules of the new chat dialog.

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
