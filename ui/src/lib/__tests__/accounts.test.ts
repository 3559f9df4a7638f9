// The plain rules behind the sign-up form's question (who may sign up) and the Settings dialog
// (the password form's checks, the devices' order, their dates).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkPasswordChange, MAX_PASSWORD_BYTES } from '../password';
import { modeFromSignUpError, normalizeSignUpMode, signUpModeQuestion } from '../signUpMode';
import { formatDate } from '../time';

describe('signUpModeQuestion', () => {
  const secure = { kind: 'secure', url: 'wss://x/ws' } as const;
  it('asks about an address (unknown counts: the backend decides), with allowInsecure only for consent', () => {
    expect(signUpModeQuestion('x', secure, false)).toEqual({ ask: true, allowInsecure: false });
    expect(signUpModeQuestion('x', { kind: 'unknown' }, false)).toEqual({ ask: true, allowInsecure: false });
    expect(signUpModeQuestion('localhost', { kind: 'local', url: 'ws://localhost/ws' }, false)).toEqual({ ask: true, allowInsecure: false });
    expect(signUpModeQuestion('ws://x', { kind: 'insecure', url: 'ws://x/ws' }, true)).toEqual({ ask: true, allowInsecure: true });
  });

  it('does not ask about nothing, a non-address, or an unencrypted server without consent', () => {
    expect(signUpModeQuestion('', secure, false)).toEqual({ ask: false });
    expect(signUpModeQuestion('ftp://x', { kind: 'invalid', error: { code: 'invalid_server_address', message: '' } }, true)).toEqual({ ask: false });
    expect(signUpModeQuestion('ws://x', { kind: 'insecure', url: 'ws://x/ws' }, false)).toEqual({ ask: false });
  });

  it('reads answers and refusals', () => {
    expect(['open', 'invite', 'closed', 'OPEN', null, undefined, 3].map(normalizeSignUpMode)).toEqual([
      'open',
      'invite',
      'closed',
      'open',
      'open',
      'open',
      'open',
    ]);
    expect(modeFromSignUpError('sign_up_closed')).toBe('closed');
    expect(modeFromSignUpError('invite_required')).toBe('invite');
    expect(modeFromSignUpError('invite_invalid')).toBe('invite');
    expect(modeFromSignUpError('username_taken')).toBeNull();
  });
});

describe('checkPasswordChange', () => {
  it('wants the current password, 8 to 256 bytes (as the server counts), typed twice the same', () => {
    expect(checkPasswordChange('', 'new-password', 'new-password')).toEqual({ field: 'current', problem: 'currentMissing' });
    expect(checkPasswordChange('old', '1234567', '1234567')).toEqual({ field: 'new', problem: 'tooShort' });
    expect(checkPasswordChange('old', '12345678', '12345679')).toEqual({ field: 'repeat', problem: 'mismatch' });
    expect(checkPasswordChange('old', '12345678', '12345678')).toBeNull();
    // Bytes, as the server counts: three Chinese characters are 9 bytes, two emoji 8.
    expect(checkPasswordChange('old', '密码口', '密码口')).toBeNull();
    expect(checkPasswordChange('old', '🧀🧀', '🧀🧀')).toBeNull();
    expect(checkPasswordChange('old', '密码', '密码')?.problem).toBe('tooShort'); // 6 bytes
    expect(checkPasswordChange('old', '密码'.repeat(4), '密码'.repeat(4))).toBeNull();
    expect(checkPasswordChange('old', 'x'.repeat(MAX_PASSWORD_BYTES), 'x'.repeat(MAX_PASSWORD_BYTES))).toBeNull();
    expect(checkPasswordChange('old', 'x'.repeat(257), 'x'.repeat(257))?.problem).toBe('tooLong');
    expect(checkPasswordChange('old', '密'.repeat(86), '密'.repeat(86))?.problem).toBe('tooLong'); // 258 bytes
  });

  it("takes exactly the passwords the server takes (its rule: 8 to 256 bytes of UTF-8)", () => {
    const piece = fc.constantFrom('a', '7', 'é', '密', '🧀', ' ');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 300 }), (pieces) => {
        const password = pieces.join('');
        const bytes = Buffer.byteLength(password, 'utf8');
        const serverTakes = bytes >= 8 && bytes <= 256;
        expect(checkPasswordChange('old', password, password) === null).toBe(serverTakes);
      }),
    );
  });
});

describe('formatDate', () => {
  it('a calendar date in the UI language; nothing for a bad time', () => {
    const ts = new Date(2026, 2, 3, 12).getTime();
    expect(formatDate(ts, 'en')).toBe('March 3, 2026');
    expect(formatDate(ts, 'zh-CN')).toBe('2026年3月3日');
    expect(formatDate(NaN, 'en')).toBe('');
    expect(formatDate(1e20, 'en')).toBe('');
  });
});
