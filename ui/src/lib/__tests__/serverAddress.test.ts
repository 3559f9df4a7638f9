// The server field: the mock's `server_address` rules (the backend's), the mock's sign_in /
// sign_up refusing an unencrypted server without consent, and the sign-in screen's decision.
import { describe, expect, it } from 'vitest';
import type { AppError } from '../api';
import { checkMockServer, createMockBackend, resolveServerAddress } from '../mock';
import { serverView, signInDecision, viewUrl, type ServerCheck } from '../serverAddress';

function refusal(f: () => unknown): AppError {
  try {
    f();
  } catch (e) {
    return e as AppError;
  }
  throw new Error('did not throw');
}

describe('resolveServerAddress (the mock server_address)', () => {
  it('turns what people type into a WebSocket URL: no scheme → wss, http → ws, https → wss, empty path → /ws', () => {
    const cases: [string, string, boolean, boolean][] = [
      ['chat.example.org', 'wss://chat.example.org/ws', true, false],
      ['  chat.example.org  ', 'wss://chat.example.org/ws', true, false],
      ['chat.example.org:8443', 'wss://chat.example.org:8443/ws', true, false],
      ['https://chat.example.org', 'wss://chat.example.org/ws', true, false],
      ['https://chat.example.org/', 'wss://chat.example.org/ws', true, false],
      ['HTTPS://Chat.Example.org', 'wss://chat.example.org/ws', true, false],
      ['wss://chat.example.org/ws', 'wss://chat.example.org/ws', true, false],
      ['https://example.org/im/ws', 'wss://example.org/im/ws', true, false], // a sub-path is kept
      ['wss://chat.example.org:443', 'wss://chat.example.org/ws', true, false], // the default port goes
      ['wss://chat.example.org/ws#x', 'wss://chat.example.org/ws', true, false],
      ['localhost:7822', 'wss://localhost:7822/ws', true, true],
      ['[::1]:7822', 'wss://[::1]:7822/ws', true, true],
      ['ws://127.0.0.1:7822/ws', 'ws://127.0.0.1:7822/ws', false, true],
      ['http://localhost:7822', 'ws://localhost:7822/ws', false, true],
      ['ws://[::1]:7822', 'ws://[::1]:7822/ws', false, true],
      ['ws://127.8.9.10:1', 'ws://127.8.9.10:1/ws', false, true],
      ['ws://chat.example.org', 'ws://chat.example.org/ws', false, false],
      ['http://10.0.0.2:7822', 'ws://10.0.0.2:7822/ws', false, false],
      ['ws://localhost.evil.org', 'ws://localhost.evil.org/ws', false, false], // not this computer
    ];
    for (const [input, url, secure, loopback] of cases) {
      expect(resolveServerAddress(input), input).toEqual({ url, secure, loopback });
    }
  });

  it('refuses what is not an address with invalid_server_address, saying what is wrong', () => {
    for (const bad of [
      '',
      '   ',
      'ftp://x',
      'ftp://chat.example.org',
      '://',
      '://chat',
      'a b',
      'chat example.org',
      'wss://',
      'https://user:pw@chat.example.org',
      'chat.example.org:99999',
    ]) {
      const e = refusal(() => resolveServerAddress(bad));
      expect(e.code, JSON.stringify(bad)).toBe('invalid_server_address');
      expect(e.message).toContain('is not a server address');
    }
  });
});

describe('the mock sign_in / sign_up server check', () => {
  it('refuses an unencrypted server to another computer unless allowInsecure', () => {
    expect(refusal(() => checkMockServer('ws://chat.example.org', false)).code).toBe('insecure_server');
    expect(checkMockServer('ws://chat.example.org', true)).toEqual({ url: 'ws://chat.example.org/ws', secure: false, loopback: false });
    // This computer (the local demo server) and encrypted servers need no consent.
    expect(checkMockServer('ws://127.0.0.1:7822/ws', false).loopback).toBe(true);
    expect(checkMockServer('chat.example.org', false).secure).toBe(true);
    expect(refusal(() => checkMockServer('ftp://x', true)).code).toBe('invalid_server_address');
  });

  it('plays the certificate problems and an unreachable server', () => {
    const codes = ['untrusted', 'expired', 'wronghost', 'revoked', 'tlsfail', 'unreachable'].map(
      (label) => refusal(() => checkMockServer(`${label}.example.org`, false)).code,
    );
    expect(codes).toEqual(['tls_untrusted', 'tls_expired', 'tls_wrong_host', 'tls_revoked', 'tls_failed', 'connect_failed']);
  });

  it('the commands: server_address, and sign_in / sign_up honouring allowInsecure', async () => {
    const mock = createMockBackend({ search: '', storage: null, latencyMs: null, scripted: true, quiet: true, history: 1 });
    await expect(mock.invoke('server_address', { input: 'chat.example.org' })).resolves.toEqual({
      url: 'wss://chat.example.org/ws',
      secure: true,
      loopback: false,
    });
    await expect(mock.invoke('server_address', { input: 'a b' })).rejects.toMatchObject({ code: 'invalid_server_address' });
    const signIn = { serverUrl: 'ws://chat.example.org', username: 'tom', password: 'secret123' };
    await expect(mock.invoke('sign_in', signIn)).rejects.toMatchObject({ code: 'insecure_server' });
    await expect(mock.invoke('sign_up', { ...signIn, displayName: 'Tom' })).rejects.toMatchObject({ code: 'insecure_server' });
    await expect(mock.invoke('sign_in', { ...signIn, allowInsecure: false })).rejects.toMatchObject({ code: 'insecure_server' });
    await expect(mock.invoke('sign_in', { ...signIn, allowInsecure: true })).resolves.toMatchObject({
      username: 'tom',
      serverUrl: 'ws://chat.example.org/ws',
    });
    await expect(mock.invoke('sign_up', { ...signIn, serverUrl: 'expired.example.org', displayName: 'Tom' })).rejects.toMatchObject({
      code: 'tls_expired',
    });
  });
});

describe('the sign-in screen decision', () => {
  const answer = (url: string, secure: boolean, loopback: boolean): ServerCheck => ({
    input: url,
    address: { url, secure, loopback },
    error: null,
  });
  const secure = serverView(answer('wss://chat.example.org/ws', true, false));
  const local = serverView(answer('ws://127.0.0.1:7822/ws', false, true));
  const insecure = serverView(answer('ws://chat.example.org/ws', false, false));
  const invalid = serverView({ input: 'a b', address: null, error: { code: 'invalid_server_address', message: 'spaces' } });

  it('sorts the answers: secure, local, insecure, invalid, or nothing to say', () => {
    expect(secure).toEqual({ kind: 'secure', url: 'wss://chat.example.org/ws' });
    expect(local).toEqual({ kind: 'local', url: 'ws://127.0.0.1:7822/ws' });
    expect(insecure).toEqual({ kind: 'insecure', url: 'ws://chat.example.org/ws' });
    expect(invalid.kind).toBe('invalid');
    expect(serverView(null)).toEqual({ kind: 'unknown' });
    // server_address itself failed (e.g. an older backend): the backend's sign_in check decides.
    expect(serverView({ input: 'x', address: null, error: { code: 'internal', message: 'no such command' } })).toEqual({ kind: 'unknown' });
    expect([secure, local, insecure, invalid].map(viewUrl)).toEqual([
      'wss://chat.example.org/ws',
      'ws://127.0.0.1:7822/ws',
      'ws://chat.example.org/ws',
      null,
    ]);
  });

  it('an unencrypted address to another computer signs in only with the box ticked', () => {
    expect(signInDecision(insecure, false)).toEqual({ go: false, why: 'insecure' });
    expect(signInDecision(insecure, true)).toEqual({ go: true, allowInsecure: true });
  });

  it('secure and local addresses sign in (never sending allowInsecure); an invalid one does not', () => {
    for (const view of [secure, local, serverView(null)]) {
      expect(signInDecision(view, false)).toEqual({ go: true, allowInsecure: false });
      expect(signInDecision(view, true)).toEqual({ go: true, allowInsecure: false });
    }
    expect(signInDecision(invalid, true)).toEqual({ go: false, why: 'invalid' });
  });
});
