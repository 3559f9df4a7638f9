import { describe, expect, it } from 'vitest';
import {
  ACCOUNT_ERROR_CODES,
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

  it('words errors: the backend message in English, Chinese text for known codes', () => {
    const e = { code: 'wrong_credentials', message: 'wrong username or password' };
    expect(errorText('en', e)).toBe('wrong username or password');
    expect(errorText('zh-CN', e)).toBe('用户名或密码错误。');
    expect(errorText('zh-CN', { code: 'something_new', message: 'new thing' })).toBe('new thing');
    expect(errorText('en', { code: 'x', message: '' })).toBe('Something went wrong.');
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
      text: 'wrong username or password',
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

  it('keeps the backend message as the detail on the sign-in screen', () => {
    const e = backend('tls_untrusted');
    expect(errorDetail(e)).toBe(e.message);
    expect(errorDetail({ code: 'tls_failed', message: '  ' })).toBeNull();
    expect(errorDetail({ code: 'wrong_credentials', message: 'wrong username or password' })).toBeNull();
    expect(authErrorView('zh-CN', e)).toEqual({ title: null, help: null, text: errorText('zh-CN', e), detail: e.message });
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
    expect([...ACCOUNT_ERROR_CODES].sort()).toEqual(
      ['account_disabled', 'invite_invalid', 'invite_required', 'session_not_found', 'sign_up_closed'].sort(),
    );
    const seen = new Set<string>();
    for (const code of ACCOUNT_ERROR_CODES) {
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
    expect(changePasswordErrorView('en', { code: 'invalid_password', message: 'x' }).text).toBe('The new password must be 8 to 256 bytes long.');
    const limited = { code: 'rate_limited', message: 'too many wrong passwords; try again in 8 s' };
    expect(changePasswordErrorView('en', limited)).toEqual({
      text: 'Too many wrong passwords. Wait a while, then try again.',
      detail: 'too many wrong passwords; try again in 8 s',
    });
    expect(changePasswordErrorView('zh-CN', limited).text).toBe('密码错误次数过多，请稍后再试。');
    expect(changePasswordErrorView('zh-CN', { code: 'offline', message: 'not connected' }).text).toBe('当前离线，请连接后再试。');
    expect(changePasswordErrorView('en', { code: 'offline', message: 'not connected to the server' })).toEqual({ text: 'not connected to the server' });
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
