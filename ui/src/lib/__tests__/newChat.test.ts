import { describe, expect, it } from 'vitest';
import { groupProblem, membersMissing, MIN_GROUP_OTHERS } from '../newChat';
import { createTranslator } from '../i18n';

describe('new chat: the group-size rule', () => {
  it('a group needs at least 2 other members (one would make it a 1:1 chat)', () => {
    expect(MIN_GROUP_OTHERS).toBe(2);
    expect(membersMissing(0)).toBe(2);
    expect(membersMissing(1)).toBe(1);
    expect(membersMissing(2)).toBe(0);
    expect(membersMissing(7)).toBe(0);
  });

  it('"Create group" waits for 2 members, then for a title', () => {
    expect(groupProblem(0, 'Club')).toBe('needMembers');
    expect(groupProblem(1, 'Club')).toBe('needMembers');
    expect(groupProblem(2, '  ')).toBe('needTitle');
    expect(groupProblem(2, 'Club')).toBeNull();
  });

  it('explains the rule in both languages', () => {
    expect(createTranslator('en')('newChat.groupHint', { n: 1 })).toContain('at least 2');
    expect(createTranslator('en')('newChat.groupHint', { n: 1 })).toContain('(1 more)');
    expect(createTranslator('zh-CN')('newChat.groupHint', { n: 1 })).toContain('至少添加 2 人');
    expect(createTranslator('en')('newChat.needMembers')).toContain('at least 2 other members');
  });
});
