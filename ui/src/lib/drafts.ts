// Drafts kept per conversation while the app runs, so switching conversations keeps what was typed.
// Reactive (a `SvelteMap`): the composer shows its conversation's draft, and what the store puts
// there (the text of a message being edited, a recalled text put back) shows at once.
import { SvelteMap } from 'svelte/reactivity';

export class DraftStore {
  private drafts = new SvelteMap<string, string>();

  get(conversationId: string): string {
    return this.drafts.get(conversationId) ?? '';
  }

  set(conversationId: string, text: string): void {
    if (text === '') this.drafts.delete(conversationId);
    else if (this.drafts.get(conversationId) !== text) this.drafts.set(conversationId, text);
  }

  clear(conversationId: string): void {
    this.drafts.delete(conversationId);
  }

  has(conversationId: string): boolean {
    return this.drafts.has(conversationId) && this.get(conversationId).trim() !== '';
  }

  clearAll(): void {
    this.drafts.clear();
  }
}
