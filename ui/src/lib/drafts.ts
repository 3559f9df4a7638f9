// Drafts kept per conversation while the app runs, so switching conversations keeps what was typed.

export class DraftStore {
  private drafts = new Map<string, string>();

  get(conversationId: string): string {
    return this.drafts.get(conversationId) ?? '';
  }

  set(conversationId: string, text: string): void {
    if (text === '') this.drafts.delete(conversationId);
    else this.drafts.set(conversationId, text);
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
