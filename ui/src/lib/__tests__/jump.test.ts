// Opening a search hit far up in a conversation's history (`App.openMessage`, `ThreadStore.reveal`)
// against the mock backend: older pages are loaded (as large as needed, at most 200) until the
// message is there, without holes or duplicates, sharing a page already on its way; then
// `jumpTarget` names it. A message that cannot be reached, a page that fails, or a conversation
// gone from the list stops with a toast; another hit opened meanwhile makes the first give up.
import { afterEach, describe, expect, it } from 'vitest';
import * as api from '../api';
import type { Backend, UiMessage } from '../api';
import { createMockBackend, type MockBackend } from '../mock';
import { createApp, type App } from '../store.svelte';
import { JUMP_CONTEXT, PAGE_SIZE } from '../stores/threads.svelte';
import { t } from '../i18n';

type Call = { cmd: string; args: Record<string, unknown> };

let apps: App[] = [];
afterEach(() => {
  apps.forEach((a) => a.dispose());
  apps = [];
});

/** The app signed in against a mock whose 1:1 chat with Jerry has `history` messages (and one more). */
async function setup(history: number, options: { search?: string; wrap?: (mock: MockBackend) => Backend } = {}) {
  let clock = 1_700_000_000_000;
  const mock = createMockBackend({
    search: `?mock=signedin${options.search ?? ''}`,
    scripted: true,
    latencyMs: null,
    storage: null,
    quiet: true,
    history,
    now: () => (clock += 1000),
    deliver: (fire) => fire(),
  });
  const calls: Call[] = [];
  const inner = options.wrap?.(mock) ?? mock;
  api.useBackend({
    invoke: (cmd, args) => {
      calls.push({ cmd, args: args ?? {} });
      return inner.invoke(cmd, args);
    },
    listen: (h) => inner.listen(h),
  });
  const app = createApp();
  apps.push(app);
  await app.boot();
  return { app, mock, calls, pages: () => calls.filter((c) => c.cmd === 'load_messages').map((c) => c.args) };
}

function expectWhole(messages: UiMessage[], from: number, to: number) {
  const seqs = messages.filter((m) => m.seq !== null).map((m) => m.seq);
  expect(seqs, `every message from ${from} to ${to}, once, in order`).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
}

describe('opening a message far up in the history', () => {
  it('loads older pages (several, at most 200 each) until it is there, then names it as the jump target', async () => {
    const { app, mock, pages } = await setup(1000);
    const target = mock.control.messages('c-jerry').find((m) => m.seq === 5)!;
    expect(await app.openMessage('c-jerry', 5)).toBe(true);
    expect(app.selectedId).toBe('c-jerry');
    const thread = app.currentThread!;
    expectWhole(thread.messages, 1, 1001);
    expect(app.jumpTarget).toMatchObject({ conversationId: 'c-jerry', seq: 5, clientId: target.clientId });
    const asked = pages();
    expect(asked[0]).toMatchObject({ beforeSeq: null, limit: PAGE_SIZE }); // the newest page (952–1001)
    expect(asked.slice(1).map((a) => [a.beforeSeq, a.limit])).toEqual([
      [952, 200],
      [752, 200],
      [552, 200],
      [352, 200],
      [152, 152 - 5 + JUMP_CONTEXT],
    ]);
    expect(app.toasts).toEqual([]);

    // Once the list has scrolled there, it is done (not again when the conversation reopens).
    app.jumpDone(app.jumpTarget!.id);
    expect(app.jumpTarget).toBeNull();
  });

  it('a message already loaded: no page at all; a second open of it is a new jump', async () => {
    const { app, pages } = await setup(100);
    await app.select('c-jerry');
    const before = pages().length;
    expect(await app.openMessage('c-jerry', 90)).toBe(true);
    const first = app.jumpTarget!;
    expect(pages()).toHaveLength(before);
    expect(await app.openMessage('c-jerry', 90)).toBe(true);
    expect(app.jumpTarget!.id).not.toBe(first.id);
    expect(app.jumpTarget!.clientId).toBe(first.clientId);
  });

  it('shares the page the scrolling view already asked for (no hole, nothing twice)', async () => {
    const { app, pages } = await setup(400);
    await app.select('c-jerry');
    const thread = app.currentThread!;
    const scrolled = app.loadOlder(thread); // the view near its top
    const opened = app.openMessage('c-jerry', 3);
    await Promise.all([scrolled, opened]);
    expect(app.jumpTarget?.seq).toBe(3);
    expectWhole(thread.messages, 1, 401);
    const befores = pages().map((p) => p.beforeSeq);
    expect(new Set(befores).size, 'no page asked twice').toBe(befores.length);
  });

  it('cannot be reached (the history has no such message): a toast, no jump', async () => {
    const { app } = await setup(60);
    expect(await app.openMessage('c-jerry', 0)).toBe(false);
    expect(app.jumpTarget).toBeNull();
    expect(app.selectedId).toBe('c-jerry'); // the conversation is open all the same
    expect(app.toasts.map((x) => x.text)).toEqual([t('search.notReached')]);
  });

  it('a page that fails stops it: the error’s toast and “could not be found”', async () => {
    const { app, pages } = await setup(500, {
      wrap: (mock) => ({
        invoke: (cmd, args) =>
          cmd === 'load_messages' && args?.beforeSeq !== null ? Promise.reject({ code: 'offline', message: 'not connected' }) : mock.invoke(cmd, args),
        listen: (h) => mock.listen(h),
      }),
    });
    expect(await app.openMessage('c-jerry', 2)).toBe(false);
    expect(pages()).toHaveLength(2); // the newest, one older that failed: no retrying in a loop
    expect(app.jumpTarget).toBeNull();
    expect(app.toasts).toHaveLength(2);
    expect(app.toasts[1].text).toBe(t('search.notReached'));
  });

  it('another hit opened meanwhile: the first gives up, the second is the jump', async () => {
    const { app } = await setup(1000);
    const first = app.openMessage('c-jerry', 5);
    const second = app.openMessage('c-group', 1);
    expect(await first).toBe(false);
    expect(await second).toBe(true);
    expect(app.selectedId).toBe('c-group');
    expect(app.jumpTarget).toMatchObject({ conversationId: 'c-group', seq: 1 });
    expect(app.toasts).toEqual([]);
  });

  it('a conversation below the loaded part of the list: its pages are loaded until it is there', async () => {
    const { app, calls } = await setup(10, { search: '&convs=180' });
    app.ready = true; // (further list pages only after ui_ready)
    expect(app.conversations.some((c) => c.id === 'c-x170')).toBe(false);
    expect(await app.openMessage('c-x170', 1)).toBe(true);
    expect(app.selectedId).toBe('c-x170');
    expect(app.selected?.id).toBe('c-x170');
    expect(calls.filter((c) => c.cmd === 'list_conversations').length).toBeGreaterThanOrEqual(2);
    expect(app.jumpTarget).toMatchObject({ conversationId: 'c-x170', seq: 1 });
  });

  it('a conversation no longer in the list: a toast, nothing opens', async () => {
    const { app } = await setup(10);
    app.ready = true;
    expect(await app.openMessage('c-gone', 1)).toBe(false);
    expect(app.selectedId).toBeNull();
    expect(app.toasts.map((x) => x.text)).toEqual([t('search.conversationGone')]);
  });

  it('opening a conversation by hand forgets a jump meant for another', async () => {
    const { app } = await setup(100);
    await app.openMessage('c-jerry', 60);
    expect(app.jumpTarget).not.toBeNull();
    await app.select('c-group');
    expect(app.jumpTarget).toBeNull();
  });
});
