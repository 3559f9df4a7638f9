import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../errorTexts';
import { failureReason } from '../privacy';
import { describeError } from '../stores/toasts.svelte';
import {
  asSentence,
  authErrorView,
  changePasswordErrorView,
  CHANGE_PASSWORD_ERROR_CODES,
  CONNECTION_ERROR_CODES,
  createTranslator,
  dictionary,
  errorDetail,
  errorText,
  format,
  pickLocale,
} from '../i18n';

describe('pickLocale', () => {
  it('chooses Chinese for any zh language', () => {
    for (const l of ['zh', 'zh-CN', 'zh-TW', 'zh-Hans-CN', 'ZH-cn', 'zh_CN']) expect(pickLocale([l])).toBe('zh-CN');
  });

  it('chooses English otherwise', () => {
    for (const l of ['en-US', 'en', 'de-DE', 'ja', 'zu', '']) expect(pickLocale([l])).toBe('en');
    expect(pickLocale([])).toBe('en');
    expect(pickLocale([undefined])).toBe('en');
  });

  it('uses the first language given', () => {
    expect(pickLocale(['en-US', 'zh-CN'])).toBe('en');
    expect(pickLocale(['zh-CN', 'en-US'])).toBe('zh-CN');
  });
});

describe('translator', () => {
  it('fills placeholders', () => {
    expect(createTranslator('en')('typing.one', { name: 'Jerry' })).toBe('Jerry is typing…');
    expect(createTranslator('zh-CN')('typing.one', { name: 'Jerry' })).toBe('Jerry 正在输入…');
    expect(format('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });

  it('has Chinese strings', () => {
    expect(createTranslator('zh-CN')('auth.signIn')).toBe('登录');
    expect(createTranslator('en')('auth.signIn')).toBe('Sign in');
  });

  it("words errors from their code in both languages, never the server's raw lowercase message", () => {
    const e = { code: 'wrong_credentials', message: 'wrong username or password' };
    expect(errorText('en', e)).toBe('Wrong username or password.');
    expect(errorText('zh-CN', e)).toBe('用户名或密码错误。');
    expect(errorText('en', { code: 'username_taken', message: 'that username is taken' })).toBe('That username is taken. Choose another one.');
  });

  it("an unknown code: its message as a sentence (capitalised, a full stop); nothing: a generic one", () => {
    expect(errorText('en', { code: 'something_new', message: 'new thing happened' })).toBe('New thing happened.');
    expect(errorText('zh-CN', { code: 'something_new', message: ' new thing ' })).toBe('New thing.');
    expect(errorText('en', { code: 'x', message: 'Done already!' })).toBe('Done already!');
    expect(errorText('en', { code: 'x', message: 'écrit (déjà)' })).toBe('Écrit (déjà).');
    expect(errorText('zh-CN', { code: 'x', message: '出错了。' })).toBe('出错了。');
    expect(errorText('en', { code: 'x', message: '' })).toBe('Something went wrong.');
    expect(errorText('zh-CN', { code: 'x', message: '  ' })).toBe('出错了。');
    expect(asSentence('a.b')).toBe('A.b.');
  });
});

/**
 * The error codes in the backend's Rust sources: the server's (im-proto's `ErrorCode` and its
 * `unknown`), the SDK's (`Error::code`, `TlsProblem::code`) and the app's (`AppError::new`).
 */
function backendErrorCodes(): string[] {
  const read = (path: string) => readFileSync(new URL(`../../../../${path}`, import.meta.url), 'utf8');
  const all = (text: string, re: RegExp) => [...text.matchAll(re)].map((m) => m[1]);
  const fnBody = (text: string, name: string) => text.slice(text.indexOf(`fn ${name}(`), text.indexOf('\n    }\n', text.indexOf(`fn ${name}(`)));
  const proto = read('crates/im-proto/src/error.rs');
  const sdk = read('crates/im-sdk/src/error.rs');
  const tls = read('crates/im-sdk/src/tls.rs');
  // Every source file of the app (a new module cannot add a code unseen).
  const appDir = new URL('../../../../src-tauri/src/', import.meta.url);
  const app = (readdirSync(appDir, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.rs'))
    .map((f) => read(`src-tauri/src/${f}`))
    .join('\n');
  return [
    ...all(proto, /= "([a-z_]+)", transient/g),
    ...all(proto, /ErrorCode::Unknown => "([a-z_]+)"/g),
    ...all(fnBody(sdk, 'code'), /=> "([a-z_]+)"/g),
    ...all(fnBody(tls, 'code'), /=> "([a-z_]+)"/g),
    ...all(app, /(?:AppError|Self)::new\(\s*"([a-z_]+)"/g),
  ];
}

/**
 * Codes of a feature whose Rust side lands at the same time as the UI's (reactions:
 * `too_many_reactions`): the UI words them already. Once the Rust sources have them, drop them here.
 */
const AHEAD_OF_BACKEND = new Set<string>(['too_many_reactions']);

describe('every error code the backend can send', () => {
  it('is in the one list: the server\'s, the SDK\'s and the app\'s codes (read from their Rust sources)', () => {
    const codes = new Set(backendErrorCodes());
    expect(codes.size).toBeGreaterThan(50);
    // (Worded here while the Rust side that sends them is written: missing there is no failure.)
    const ahead = ERROR_CODES.filter((c) => AHEAD_OF_BACKEND.has(c) && !codes.has(c));
    expect([...new Set(ERROR_CODES)].filter((c) => !ahead.includes(c)).sort()).toEqual([...codes].sort());
    expect(new Set(ERROR_CODES).size, 'each code once').toBe(ERROR_CODES.length);
  });

  it('has a written sentence in English and in Chinese, not the backend message', () => {
    const seen = { en: new Set<string>(), zh: new Set<string>() };
    for (const code of ERROR_CODES) {
      const raw = { code, message: `raw message for ${code}` };
      const en = errorText('en', raw);
      const zh = errorText('zh-CN', raw);
      expect(en, code).not.toContain('raw message');
      expect(zh, code).not.toContain('raw message');
      expect(en, code).toMatch(/^[A-Z“'].*[.!?]$/); // a sentence
      expect(en, code).not.toMatch(/[\u4e00-\u9fff]/);
      expect(zh, code).toMatch(/[\u4e00-\u9fff]/);
      expect(zh, code).toMatch(/[。！？]$/);
      expect(seen.en.has(en), `${code}: a text of its own`).toBe(false);
      expect(seen.zh.has(zh), `${code}: a text of its own`).toBe(false);
      seen.en.add(en);
      seen.zh.add(zh);
    }
  });

  it('is what the toasts, the sign-in screen, a failed message and the dialogs show', () => {
    const e = { code: 'wrong_credentials', message: 'wrong username or password' };
    expect(describeError(e)).toBe('Wrong username or password.');
    expect(authErrorView('en', e).text).toBe('Wrong username or password.');
    const refused = { code: 'not_member', message: 'you are not a member of this conversation' };
    expect(failureReason(refused, { peer: null, blockedByMe: false }, createTranslator('en'), 'en')).toBe(
      'You are not a member of this conversation (any more).',
    );
    expect(changePasswordErrorView('en', { code: 'offline', message: 'not connected to the server' }).text).toBe(
      'You are offline. Try again once you are connected.',
    );
  });
});

describe('the password rule, as the server counts it (bytes of UTF-8)', () => {
  it('says bytes in the hints and the errors, in both languages', () => {
    const en = createTranslator('en');
    const zh = createTranslator('zh-CN');
    const keys = ['auth.passwordHint', 'settings.newPasswordHint', 'settings.passwordTooShort', 'settings.passwordTooLong'] as const;
    const invalid = { code: 'invalid_password', message: 'a password must be 8 to 256 bytes long' };
    const english = [...keys.map((k) => en(k)), errorText('en', invalid), changePasswordErrorView('en', invalid).text];
    const chinese = [...keys.map((k) => zh(k)), errorText('zh-CN', invalid), changePasswordErrorView('zh-CN', invalid).text];
    for (const text of english) {
      expect(text).toMatch(/\bbytes?\b/);
      expect(text).not.toMatch(/\bcharacters\b/);
    }
    for (const text of chinese) {
      expect(text).toContain('字节');
      expect(text).not.toContain('字符');
    }
  });
});

describe('sign-in screen errors', () => {
  const keyring = { code: 'keyring_unavailable', message: 'no Secret Service provider is running' };

  it('explains keyring_unavailable in English: missing or locked, credentials not stored', () => {
    const v = authErrorView('en', keyring);
    expect(v.title).toBe('The system keyring is missing or locked');
    expect(v.help).toContain('Secret Service');
    expect(v.help).toContain('gnome-keyring');
    expect(v.help).toContain('credentials were not stored');
    expect(v.text).toBe(keyring.message); // the backend's detail
  });

  it('explains keyring_unavailable in Chinese', () => {
    const v = authErrorView('zh-CN', keyring);
    expect(v.title).toBe('系统密钥环缺失或已锁定');
    expect(v.help).toContain('Secret Service');
    expect(v.help).toContain('gnome-keyring');
    expect(v.help).toContain('凭据没有被保存');
    expect(errorText('zh-CN', keyring)).toContain('密钥环');
  });

  it('shows other errors as one line', () => {
    expect(authErrorView('en', { code: 'wrong_credentials', message: 'wrong username or password' })).toEqual({
      title: null,
      help: null,
      text: 'Wrong username or password.',
    });
    expect(authErrorView('zh-CN', { code: 'wrong_credentials', message: 'x' }).text).toBe('用户名或密码错误。');
  });

  it('words the signed-out notice with the server reason', () => {
    expect(createTranslator('en')('auth.signedOut', { reason: 'Your session was revoked.' })).toBe(
      'You were signed out: Your session was revoked.',
    );
    expect(createTranslator('en')('msg.read')).toBe('Read');
    expect(createTranslator('zh-CN')('msg.read')).toBe('已读');
  });
});

describe('new strings, in both languages', () => {
  const en = createTranslator('en');
  const zh = createTranslator('zh-CN');

  it('the sign-out confirmation', () => {
    expect(en('signOut.title')).toBe('Sign out of Gtedx IM?');
    expect(en('signOut.forgetData')).toBe("Also remove this account's messages from this computer");
    expect([en('signOut.cancel'), en('signOut.confirm')]).toEqual(['Cancel', 'Sign out']);
    expect(zh('signOut.title')).toBe('退出 Gtedx IM 登录？');
    expect(zh('signOut.forgetData')).toBe('同时从这台电脑上删除此账号的消息');
    expect([zh('signOut.cancel'), zh('signOut.confirm')]).toEqual(['取消', '退出登录']);
  });

  it('the similar-name warning, the pane fallback and unexpected errors', () => {
    expect(en('identity.similar')).toBe('Another contact has a similar name');
    expect(zh('identity.similar')).toBe('另一位联系人的名字与此相似');
    expect(zh('identity.similarTo', { names: 'Jerry (@jerry)' })).toContain('Jerry (@jerry)');
    expect([en('error.paneFailed'), en('error.retry')]).toEqual(['This part of the window could not be shown.', 'Retry']);
    expect([zh('error.paneFailed'), zh('error.retry')]).toEqual(['这部分内容无法显示。', '重试']);
    expect(zh('error.unexpected', { detail: 'x' })).toBe('出错了：x');
  });
});

describe('every text in both languages', () => {
  it('has each key in English and Chinese, none empty', () => {
    const en = dictionary('en');
    const zh = dictionary('zh-CN');
    expect(Object.keys(zh).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      expect(en[key].trim(), key).not.toBe('');
      expect(zh[key].trim(), key).not.toBe('');
    }
  });
});

describe('reaching the server: the address, its certificate, the connection', () => {
  const codes = [
    'tls_untrusted',
    'tls_expired',
    'tls_wrong_host',
    'tls_revoked',
    'tls_failed',
    'insecure_server',
    'invalid_server_address',
    'connect_failed',
  ];
  const backend = (code: string) => ({ code, message: `cannot connect securely to wss://x/ws: technical ${code}` });

  it('words every code itself, in English and Chinese, instead of the backend message', () => {
    expect([...CONNECTION_ERROR_CODES].sort()).toEqual([...codes].sort());
    const seen = new Set<string>();
    for (const code of codes) {
      const en = errorText('en', backend(code));
      const zh = errorText('zh-CN', backend(code));
      for (const text of [en, zh]) {
        expect(text, code).not.toContain('technical');
        expect(text.length, code).toBeGreaterThan(10);
        expect(seen.has(text), code).toBe(false);
        seen.add(text);
      }
      expect(en, code).toMatch(/^[A-Z].*\.$/); // a sentence
      expect(zh, code).toMatch(/[\u4e00-\u9fff]/);
      expect(zh, code).toMatch(/。$/);
    }
  });

  it('says what to do about a certificate', () => {
    const en = (code: string) => errorText('en', backend(code));
    expect(en('tls_untrusted')).toBe(
      "This server's certificate isn't from an authority your computer trusts. If your organisation runs its own certificate authority, ask your administrator how to add it.",
    );
    expect(en('tls_wrong_host')).toBe("This server's certificate is for a different address. Check the server address you typed.");
    expect(en('tls_expired')).toBe(
      "This server's certificate has expired or isn't valid yet. Check your computer's date and time, or tell the server's administrator.",
    );
    expect(en('insecure_server')).toContain('Connect without encryption anyway');
    const zh = (code: string) => errorText('zh-CN', backend(code));
    expect(zh('tls_expired')).toContain('日期和时间');
    expect(zh('tls_wrong_host')).toContain('服务器地址');
    expect(zh('insecure_server')).toContain(createTranslator('zh-CN')('auth.allowInsecure'));
  });

  it('keeps the backend message (as a sentence) as the detail on the sign-in screen', () => {
    const e = backend('tls_untrusted');
    const detail = 'Cannot connect securely to wss://x/ws: technical tls_untrusted.';
    expect(errorDetail(e)).toBe(detail);
    expect(errorDetail({ code: 'tls_failed', message: '  ' })).toBeNull();
    expect(errorDetail({ code: 'wrong_credentials', message: 'wrong username or password' })).toBeNull();
    expect(authErrorView('zh-CN', e)).toEqual({ title: null, help: null, text: errorText('zh-CN', e), detail });
  });

  it('the server preview and the unencrypted-server warning', () => {
    const en = createTranslator('en');
    const zh = createTranslator('zh-CN');
    expect(en('auth.serverSecure')).toBe('Secure connection (TLS)');
    expect(zh('auth.serverSecure')).toBe('安全连接（TLS）');
    expect(en('auth.allowInsecure')).toBe('Connect without encryption anyway');
    expect(en('auth.insecureText')).toMatch(/messages and your password .* unencrypted/);
    expect(zh('auth.insecureText')).toContain('未加密');
  });
});

describe('accounts: sign-up modes, devices, password', () => {
  const en = createTranslator('en');
  const zh = createTranslator('zh-CN');
  const backend = (code: string) => ({ code, message: `server says ${code}` });

  it('words the new server errors itself, in both languages, as sentences', () => {
    const accountCodes = ['account_disabled', 'invite_invalid', 'invite_required', 'session_not_found', 'sign_up_closed'];
    const seen = new Set<string>();
    for (const code of accountCodes) {
      const texts = { en: errorText('en', backend(code)), zh: errorText('zh-CN', backend(code)) };
      for (const text of [texts.en, texts.zh]) {
        expect(text, code).not.toContain('server says');
        expect(seen.has(text), code).toBe(false);
        seen.add(text);
      }
      expect(texts.en, code).toMatch(/^[A-Z].*\.$/);
      expect(texts.zh, code).toMatch(/[\u4e00-\u9fff]/);
      expect(texts.zh, code).toMatch(/。$/);
      // On the sign-in screen too (one line, no detail).
      expect(authErrorView('en', backend(code))).toEqual({ title: null, help: null, text: texts.en });
    }
    expect(errorText('en', backend('sign_up_closed'))).toBe('This server does not take sign-ups. Ask its administrator for an account.');
    expect(errorText('en', backend('invite_required'))).toContain('invite code');
    expect(errorText('en', backend('invite_invalid'))).toMatch(/unknown, used up or expired.*new one/);
    expect(errorText('en', backend('account_disabled'))).toContain("disabled by the server's administrator");
    expect(errorText('zh-CN', backend('account_disabled'))).toContain('管理员停用');
    expect(errorText('zh-CN', backend('invite_invalid'))).toContain('邀请码');
  });

  it('change_password: wrong_credentials is about the current password; rate_limited keeps the retry time', () => {
    expect([...CHANGE_PASSWORD_ERROR_CODES].sort()).toEqual(['invalid_password', 'rate_limited', 'wrong_credentials']);
    const wrong = { code: 'wrong_credentials', message: 'the current password is wrong' };
    expect(changePasswordErrorView('en', wrong)).toEqual({ text: 'The current password is wrong.' });
    expect(changePasswordErrorView('zh-CN', wrong)).toEqual({ text: '当前密码不正确。' });
    // Elsewhere (signing in) it still means a wrong username or password.
    expect(errorText('zh-CN', wrong)).toBe('用户名或密码错误。');
    expect(changePasswordErrorView('en', { code: 'invalid_password', message: 'x' }).text).toBe(
      'The new password must be 8 to 256 bytes long (a letter or digit is 1 byte, a Chinese character 3).',
    );
    const limited = { code: 'rate_limited', message: 'too many wrong passwords; try again in 8 s' };
    expect(changePasswordErrorView('en', limited)).toEqual({
      text: 'Too many wrong passwords. Wait a while, then try again.',
      detail: 'Too many wrong passwords; try again in 8 s.', // the backend's words, as a sentence
    });
    expect(changePasswordErrorView('zh-CN', limited).text).toBe('密码错误次数过多，请稍后再试。');
    expect(changePasswordErrorView('zh-CN', { code: 'offline', message: 'not connected' }).text).toBe('当前离线，请连接后再试。');
    expect(changePasswordErrorView('en', { code: 'offline', message: 'not connected to the server' })).toEqual({
      text: 'You are offline. Try again once you are connected.',
    });
  });

  it('has the new texts in both languages', () => {
    const keys = [
      'auth.inviteCode',
      'auth.inviteHint',
      'auth.inviteMissing',
      'auth.signUpClosed',
      'main.settings',
      'main.settingsShortcut',
      'settings.title',
      'settings.changePassword',
      'settings.passwordChanged',
      'settings.unknownDevice',
      'settings.thisDevice',
      'revokeSession.title',
    ] as const;
    for (const key of keys) {
      expect(en(key), key).not.toBe(key);
      expect(zh(key), key).toMatch(/[\u4e00-\u9fff]/);
      expect(zh(key), key).not.toBe(en(key));
    }
    expect(en('settings.passwordChanged')).toBe('Password changed. Your other devices were signed out.');
    expect(zh('settings.passwordChanged')).toBe('密码已修改。你的其他设备已退出登录。');
    expect(en('settings.unknownDevice')).toBe('Unknown device');
    expect(en('settings.thisDevice')).toBe('This device');
    expect(en('revokeSession.title', { device: 'Gtedx IM on Android' })).toBe('Sign out “Gtedx IM on Android”?');
    expect(zh('settings.signedInAt', { date: '2026年3月3日' })).toBe('登录于 2026年3月3日');
    expect(en('main.settingsShortcut')).toContain('Ctrl+,');
  });
});
