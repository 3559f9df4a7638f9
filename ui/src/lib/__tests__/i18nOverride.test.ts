// The language chosen in Settings: saved in the preferences, and read when the i18n module starts
// (before any text is shown), in place of the system's languages; the language menu's names.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PREFERENCES_KEY } from '../savedPreferences';

/** The i18n module as it starts with this saved object and these system languages. */
async function startI18n(saved: string | null, languages: string[], storage: 'ok' | 'none' | 'throws' = 'ok') {
  vi.stubGlobal('navigator', { language: languages[0], languages });
  if (storage === 'ok') vi.stubGlobal('localStorage', { getItem: (k: string) => (k === PREFERENCES_KEY ? saved : null), setItem: () => {} });
  else if (storage === 'none') vi.stubGlobal('localStorage', undefined);
  else
    vi.stubGlobal('localStorage', {
      getItem: () => {
        throw new DOMException('denied', 'SecurityError');
      },
      setItem: () => {},
    });
  vi.resetModules();
  return import('../i18n');
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.resetModules();
});

describe('the saved language', () => {
  it('none saved, or System: the system languages decide', async () => {
    expect((await startI18n(null, ['zh-CN', 'en'])).locale).toBe('zh-CN');
    expect((await startI18n('{"notificationText":false}', ['zh-CN'])).locale).toBe('zh-CN'); // an older save
    expect((await startI18n('{"language":"system"}', ['en-GB', 'zh-CN'])).locale).toBe('en');
  });

  it('a language chosen wins over the system, and t speaks it', async () => {
    const zh = await startI18n('{"language":"zh-CN","theme":"dark"}', ['en-US', 'en']);
    expect(zh.locale).toBe('zh-CN');
    expect(zh.systemLocale).toBe('en');
    expect(zh.t('settings.theme')).toBe('主题');
    const en = await startI18n('{"language":"en"}', ['zh-CN']);
    expect(en.locale).toBe('en');
    expect(en.systemLocale).toBe('zh-CN');
    expect(en.t('settings.theme')).toBe('Theme');
  });

  it('corrupt, unknown or unreadable: the system decides', async () => {
    for (const saved of ['{"language":"fr"}', '{"language":"zh"}', '{"language":', '[]', '"zh-CN"']) {
      expect((await startI18n(saved, ['zh-CN'])).locale, saved).toBe('zh-CN');
    }
    expect((await startI18n(null, ['zh-CN'], 'none')).locale).toBe('zh-CN');
    expect((await startI18n(null, ['zh-CN'], 'throws')).locale).toBe('zh-CN');
  });
});

describe('localeFor and the names', () => {
  it('System follows the languages; a chosen language is itself', async () => {
    const { localeFor } = await import('../i18n');
    expect(localeFor('system', ['zh-TW'])).toBe('zh-CN');
    expect(localeFor('system', ['ja', 'zh-CN'])).toBe('en');
    expect(localeFor('system', [])).toBe('en');
    expect(localeFor('en', ['zh-CN'])).toBe('en');
    expect(localeFor('zh-CN', ['en'])).toBe('zh-CN');
  });

  it('each language is named in itself; System names the one it stands for', async () => {
    const { LANGUAGE_NAMES, createTranslator } = await import('../i18n');
    expect(LANGUAGE_NAMES).toEqual({ en: 'English', 'zh-CN': '中文' });
    expect(createTranslator('en')('settings.languageSystem', { language: LANGUAGE_NAMES['zh-CN'] })).toBe('System (中文)');
    expect(createTranslator('zh-CN')('settings.languageSystem', { language: LANGUAGE_NAMES.en })).toBe('跟随系统（English）');
  });
});
