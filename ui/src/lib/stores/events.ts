// The event router: each backend `ImEvent` to the stores it concerns. No state of its own.
import type { ImEvent } from '../api';
import type { BlockStore } from './blocks.svelte';
import type { ConversationListStore } from './conversationList.svelte';
import type { DesktopSettingsStore } from './desktopSettings.svelte';
import type { GroupInfoStore } from './groupInfo.svelte';
import type { NoticeStore } from './notices.svelte';
import type { SessionStore } from './session.svelte';
import type { ThreadStore } from './threads.svelte';
import type { ToastStore } from './toasts.svelte';
import type { UpdateStore } from './updates.svelte';

export type EventTargets = {
  session: SessionStore;
  list: ConversationListStore;
  threads: ThreadStore;
  toasts: ToastStore;
  blocks: BlockStore;
  notices: NoticeStore;
  desktop: DesktopSettingsStore;
  updates: UpdateStore;
  /** The open "Group info" dialog's state, if any. */
  groupInfo(): GroupInfoStore | null;
  /** Close the "Group info" dialog (its group was removed). */
  closeGroupInfo(): void;
  /** Reload what may have been missed (see `App.resync`). */
  resync(): void;
  /** Close the open conversation (it was removed). */
  close(): void;
  /** Open a conversation (its notification was clicked). */
  open(conversationId: string): void;
};

export function routeEvent(e: ImEvent, to: EventTargets): void {
  const signedIn = to.session.phase === 'main';
  switch (e.kind) {
    case 'message': {
      if (!signedIn) return;
      if (to.threads.isDeleted(e.message)) return; // deleted on this device: a late copy
      to.threads.messageEvent(e.message);
      to.list.applyMessage(e.message);
      if (!e.message.own) to.threads.stoppedTyping(e.message.conversationId, e.message.from);
      if (e.message.conversationId === to.list.selectedId) to.threads.maybeMarkRead();
      break;
    }
    case 'messageUpdated':
      // An edit or a recall: the held copies (thread, list preview) change; nothing is added.
      if (!signedIn || to.threads.isDeleted(e.message)) return;
      to.threads.updateEvent(e.message);
      to.list.applyUpdate(e.message);
      break;
    case 'conversation':
      if (!signedIn) return;
      to.list.conversationEvent(e.conversation);
      to.groupInfo()?.conversationEvent(e.conversation);
      if (e.conversation.id === to.list.selectedId) to.threads.maybeMarkRead();
      break;
    case 'conversationRemoved':
      to.list.removed(e.conversationId);
      to.threads.remove(e.conversationId);
      to.notices.dropConversation(e.conversationId);
      if (to.groupInfo()?.conversationId === e.conversationId) {
        to.groupInfo()?.removed();
        to.closeGroupInfo();
      }
      if (to.list.selectedId === e.conversationId) to.close();
      break;
    case 'addedToGroup':
      if (!signedIn) return;
      // (A group left on this device: the notice waits until the backend's list says it is there.)
      to.notices.added(e, to.list.addedToGroup(e.conversationId));
      break;
    case 'blockChanged':
      if (!signedIn) return;
      to.blocks.changed(e.uid, e.blocked);
      break;
    case 'connection':
      to.session.setConnection(e.state);
      break;
    case 'receipt':
      if (!signedIn) return;
      to.list.receipt(e, to.session.account?.uid);
      break;
    case 'typing':
      if (e.uid === to.session.account?.uid) return;
      to.threads.applyTyping(e);
      break;
    case 'signedOut':
      to.session.signedOutByServer(e.reason);
      break;
    case 'resync':
      to.resync();
      break;
    case 'error':
      to.toasts.show(e.error);
      break;
    case 'openConversation':
      if (!signedIn) return;
      to.open(e.conversationId);
      break;
    case 'desktopSettings':
      // (This computer's, not the account's: also while signed out.)
      to.desktop.event(e.settings);
      break;
    case 'update':
      // (The app's, not the account's: also while signed out.)
      to.updates.event(e.status);
      break;
  }
}
