import type { ConversationItem, UiMessage } from '../api';

let n = 0;

export function msg(p: Partial<UiMessage> = {}): UiMessage {
  n++;
  return {
    conversationId: 'c1',
    clientId: `cl-${n}`,
    id: `id-${n}`,
    seq: n,
    from: 'u-jerry',
    fromName: 'Jerry',
    own: false,
    text: `message ${n}`,
    timestamp: new Date(2024, 4, 10, 12, 0).getTime() + n * 1000,
    status: 'sent',
    error: null,
    editedAt: null,
    recalled: false,
    recalledByName: null,
    replyTo: null,
    editableUntil: null,
    recallableUntil: null,
    mentions: [],
    mentionAll: false,
    mentionsMe: false,
    reactions: [],
    ...p,
  };
}

export function conv(p: Partial<ConversationItem> = {}): ConversationItem {
  const group = p.type === 'GROUP_CHAT';
  return {
    id: 'c1',
    type: 'SINGLE_CHAT',
    title: '',
    displayTitle: 'Jerry',
    managerId: 'u-tom',
    userIds: ['u-tom', 'u-jerry'],
    lastMessage: null,
    unreadCount: 0,
    unreadMentions: 0,
    readSeq: 0,
    peerReadSeq: 0,
    lastSeq: 0,
    lastActivity: 0,
    peer: group ? null : { uid: 'u-jerry', username: 'jerry', displayName: p.displayTitle ?? 'Jerry' },
    muted: false,
    remark: '',
    ...p,
  };
}
