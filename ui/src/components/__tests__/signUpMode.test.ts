// @vitest-environment happy-dom
// The sign-up form asks the server who may create an account (`server_sign_up_mode`): an invite
// code field when it needs one, a notice and no "Create account" when it takes no sign-ups, and
// the plain form when the question fails. Signing in never asks.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { flushSync } from 'svelte';
import { byId, render, settle, type, unmountAll } from './dom';

const resolveServerAddress = await vi.hoisted(async () => (await import('../../lib/mock')).resolveServerAddress);

vi.mock('../../lib/api', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../lib/api')>();
  return {
    ...real,
    uiReady: async () => null,
    serverAddress: vi.fn(async (a: { input: string }) => resolveServerAddress(a.input)),
    serverSignUpMode: vi.fn(async () => 'open'),
    signIn: vi.fn(async () => {
      throw { code: 'wrong_credentials', message: 'wrong username or password' };
    }),
    signUp: vi.fn(async () => {
      throw { code: 'username_taken', message: 'that username is taken' };
    }),
  };
});

const api = await import('../../lib/api');
const { SIGN_UP_MODE_DELAY_MS } = await import('../../lib/signUpMode');
const { app } = await import('../../lib/store.svelte');
const AuthScreen = (await import('../AuthScreen.svelte')).default;

const serverSignUpMode = vi.mocked(api.serverSignUpMode);
const signUp = vi.mocked(api.signUp);
const signIn = vi.mocked(api.signIn);

beforeEach(() => {
  app.info = { version: '1', profile: null, defaultServerUrl: 'ws://default', maxTextChars: 4096 };
  app.authError = null;
  app.signedOutReason = null;
  app.lastUsername = 'tom';
  serverSignUpMode.mockReset();
  serverSignUpMode.mockResolvedValue('open');
  signUp.mockClear();
  signIn.mockClear();
});
afterEach(unmountAll);

/** Longer than the form waits after the address last changed. */
const pause = async () => {
  await new Promise((r) => setTimeout(r, SIGN_UP_MODE_DELAY_MS + 60));
  await settle();
};

/** The sign-in screen with this server and a password; `signUp`: switched to the sign-up form. */
async function form(server: string, opts: { signUp?: boolean } = {}) {
  app.lastServerUrl = server;
  const el = render(AuthScreen, {});
  type(byId(el, 'password') as HTMLInputElement, 'secret123');
  await settle();
  if (opts.signUp !== false) {
    byId(el, 'auth-mode-toggle')!.click();
    flushSync();
    await settle();
  }
  return el;
}
const submitButton = (el: HTMLElement) => byId(el, 'auth-submit') as HTMLButtonElement;
const submit = async (el: HTMLElement) => {
  submitButton(el).click();
  await settle();
};
const inviteField = (el: HTMLElement) => byId(el, 'invite-code') as HTMLInputElement | null;

describe('the sign-up form asks who may sign up', () => {
  it('asks once when switching to sign-up, with the server as typed; signing in never asks', async () => {
    const el = await form('chat.example.org', { signUp: false });
    await pause();
    expect(serverSignUpMode).not.toHaveBeenCalled();
    type(byId(el, 'server-url') as HTMLInputElement, 'other.example.org');
    await pause();
    expect(serverSignUpMode).not.toHaveBeenCalled();

    byId(el, 'auth-mode-toggle')!.click();
    await settle();
    expect(serverSignUpMode.mock.calls).toEqual([[{ server: 'other.example.org', allowInsecure: false }]]);
  });

  it('asks again as the address settles (~400 ms), not on every keystroke', async () => {
    const el = await form('chat.example.org');
    serverSignUpMode.mockClear();
    const input = byId(el, 'server-url') as HTMLInputElement;
    for (const v of ['i', 'invite.ex', 'invite.example.org']) type(input, v);
    await new Promise((r) => setTimeout(r, SIGN_UP_MODE_DELAY_MS / 2));
    expect(serverSignUpMode).not.toHaveBeenCalled();
    await pause();
    expect(serverSignUpMode.mock.calls).toEqual([[{ server: 'invite.example.org', allowInsecure: false }]]);
  });

  it('invite: a required, monospace "Invite code" field, sent as `invite`', async () => {
    serverSignUpMode.mockResolvedValue('invite');
    const el = await form('chat.example.org');
    const field = inviteField(el)!;
    expect(field).not.toBeNull();
    expect(field.required).toBe(true);
    expect(field.placeholder).toBe('XXXX-XXXX-XXXX-XXXX');
    expect(field.classList.contains('code')).toBe(true);
    expect(document.querySelector(`label[for="${field.id}"]`)?.textContent).toBe('Invite code');
    expect(document.getElementById('auth-invite-hint')?.textContent).toContain('needs an invite code');

    // Without a code: the browser's own check stops the form; were it submitted anyway (the
    // check skipped), nothing is sent and the field says what is missing, with the focus.
    expect((byId(el, 'auth-form') as HTMLFormElement).checkValidity()).toBe(false);
    byId(el, 'auth-form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    await settle();
    expect(signUp).not.toHaveBeenCalled();
    expect(byId(el, 'invite-missing')?.textContent).toBe('Enter your invite code.');
    expect(field.getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(field);

    type(field, ' 7kq2-m9xd-4hbt-c0wz ');
    expect(byId(el, 'invite-missing')).toBeNull();
    await submit(el);
    expect(signUp).toHaveBeenCalledWith({
      serverUrl: 'chat.example.org',
      username: 'tom',
      password: 'secret123',
      displayName: 'tom',
      allowInsecure: false,
      invite: '7kq2-m9xd-4hbt-c0wz',
    });
    expect(submitButton(el).disabled).toBe(false);
  });

  it('closed: a notice, and "Create account" disabled (Enter does nothing either); signing in still works', async () => {
    serverSignUpMode.mockResolvedValue('closed');
    const el = await form('chat.example.org');
    const notice = byId(el, 'sign-up-closed')!;
    expect(notice.textContent).toContain('This server does not take sign-ups. Ask its administrator for an account.');
    expect(notice.getAttribute('role')).toBe('status');
    expect(submitButton(el).disabled).toBe(true);
    expect(submitButton(el).getAttribute('aria-describedby')).toBe(notice.id);
    expect(inviteField(el)).toBeNull();
    byId(el, 'auth-form')!.dispatchEvent(new Event('submit', { bubbles: true, cancelable: true }));
    await settle();
    expect(signUp).not.toHaveBeenCalled();

    byId(el, 'auth-mode-toggle')!.click();
    await settle();
    expect(byId(el, 'sign-up-closed')).toBeNull();
    expect(submitButton(el).disabled).toBe(false);
    await submit(el);
    expect(signIn).toHaveBeenCalledTimes(1);
  });

  it('a question that fails is as an open server: no field, the button enabled, and sign_up says the rest', async () => {
    serverSignUpMode.mockRejectedValue({ code: 'connect_failed', message: 'Connection refused' });
    const info = vi.spyOn(console, 'info').mockImplementation(() => {});
    const el = await form('chat.example.org');
    expect(serverSignUpMode).toHaveBeenCalled();
    expect(inviteField(el)).toBeNull();
    expect(byId(el, 'sign-up-closed')).toBeNull();
    expect(submitButton(el).disabled).toBe(false);
    await submit(el);
    expect(signUp).toHaveBeenCalledWith(expect.objectContaining({ invite: null }));
    info.mockRestore();
  });

  it('an answer that is not a mode is as an open server', async () => {
    serverSignUpMode.mockResolvedValue('whatever' as never);
    const el = await form('chat.example.org');
    expect(inviteField(el)).toBeNull();
    expect(submitButton(el).disabled).toBe(false);
  });

  it('an unencrypted server is asked only with consent (allowInsecure); an invalid address is not asked', async () => {
    serverSignUpMode.mockResolvedValue('invite');
    const el = await form('ws://chat.example.org');
    expect(serverSignUpMode).not.toHaveBeenCalled();
    expect(inviteField(el)).toBeNull();
    (byId(el, 'allow-insecure') as HTMLInputElement).click();
    await settle();
    expect(serverSignUpMode.mock.calls).toEqual([[{ server: 'ws://chat.example.org', allowInsecure: true }]]);
    expect(inviteField(el)).not.toBeNull();

    serverSignUpMode.mockClear();
    type(byId(el, 'server-url') as HTMLInputElement, 'ftp://x');
    await pause();
    expect(serverSignUpMode).not.toHaveBeenCalled();
    expect(inviteField(el)).toBeNull(); // nothing known about that "server": as an open one
  });

  it('only the latest question counts: an answer about the address typed before is dropped', async () => {
    let answerFirst: (m: 'closed') => void = () => {};
    serverSignUpMode.mockImplementationOnce(() => new Promise((r) => (answerFirst = r)));
    const el = await form('closed.example.org');
    type(byId(el, 'server-url') as HTMLInputElement, 'chat.example.org');
    answerFirst('closed'); // arrives after the address changed
    await settle();
    expect(byId(el, 'sign-up-closed')).toBeNull();
    await pause();
    expect(serverSignUpMode).toHaveBeenLastCalledWith({ server: 'chat.example.org', allowInsecure: false });
    expect(submitButton(el).disabled).toBe(false);
  });

  it("sign_up's refusals show what the server wants: invite_required → the field; sign_up_closed → the notice", async () => {
    serverSignUpMode.mockRejectedValue({ code: 'offline', message: 'x' });
    vi.spyOn(console, 'info').mockImplementation(() => {});
    const el = await form('chat.example.org');
    signUp.mockRejectedValueOnce({ code: 'invite_required', message: 'this server takes sign-ups with an invite code' });
    await submit(el);
    expect(inviteField(el)).not.toBeNull();
    expect(document.activeElement).toBe(inviteField(el));
    expect(byId(el, 'invite-missing')).not.toBeNull();

    type(inviteField(el)!, 'AAAA-BBBB-CCCC-DDDD');
    signUp.mockRejectedValueOnce({ code: 'invite_invalid', message: 'this invite code is unknown, used up or expired' });
    await submit(el);
    const alert = byId(el, 'auth-error')!;
    expect(alert.dataset.code).toBe('invite_invalid');
    expect(alert.textContent).toContain('This invite code is unknown, used up or expired. Check it, or ask for a new one.');
    expect(inviteField(el)!.getAttribute('aria-invalid')).toBe('true');

    signUp.mockRejectedValueOnce({ code: 'sign_up_closed', message: 'this server does not take sign-ups' });
    await submit(el);
    expect(byId(el, 'sign-up-closed')).not.toBeNull();
    expect(submitButton(el).disabled).toBe(true);
    expect(byId(el, 'auth-error')).toBeNull(); // the notice says it
    vi.restoreAllMocks();
  });

  it('account_disabled on signing in: the UI wording', async () => {
    signIn.mockRejectedValueOnce({ code: 'account_disabled', message: 'this account is disabled' });
    const el = await form('chat.example.org', { signUp: false });
    await submit(el);
    const alert = byId(el, 'auth-error')!;
    expect(alert.dataset.code).toBe('account_disabled');
    expect(alert.textContent?.trim()).toBe("This account was disabled by the server's administrator. Ask them to enable it again.");
  });
});
