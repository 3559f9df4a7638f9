import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  adjacentConversation,
  ariaKeyShortcuts,
  isMacPlatform,
  shortcutFor,
  shortcutLabel,
  type ShortcutKey,
} from '../shortcuts';
import { createTranslator } from '../i18n';

const linux = (e: ShortcutKey) => shortcutFor(e, false);
const mac = (e: ShortcutKey) => shortcutFor(e, true);

describe('the key map', () => {
  it('Ctrl+K, Ctrl+F, Ctrl+, , Ctrl+W, Ctrl+Q (upper case too, as with Caps Lock)', () => {
    expect(linux({ key: 'k', ctrlKey: true })).toBe('quickSwitcher');
    expect(linux({ key: 'K', ctrlKey: true })).toBe('quickSwitcher');
    expect(linux({ key: 'f', ctrlKey: true })).toBe('find');
    expect(linux({ key: ',', ctrlKey: true })).toBe('settings');
    expect(linux({ key: 'w', ctrlKey: true })).toBe('closeWindow');
    expect(linux({ key: 'q', ctrlKey: true })).toBe('quitApp');
  });

  it('on a Mac ⌘ is the modifier; Ctrl also works for K, F and , but not for W and Q', () => {
    expect(mac({ key: 'k', metaKey: true })).toBe('quickSwitcher');
    expect(mac({ key: 'k', ctrlKey: true })).toBe('quickSwitcher');
    expect(mac({ key: 'f', ctrlKey: true })).toBe('find');
    expect(mac({ key: 'w', metaKey: true })).toBe('closeWindow');
    expect(mac({ key: 'q', metaKey: true })).toBe('quitApp');
    expect(mac({ key: 'w', ctrlKey: true })).toBeNull();
    expect(mac({ key: 'q', ctrlKey: true })).toBeNull();
    expect(mac({ key: 'k', ctrlKey: true, metaKey: true })).toBeNull();
  });

  it('elsewhere the ⊞ / Super key is not Ctrl', () => {
    expect(linux({ key: 'k', metaKey: true })).toBeNull();
    expect(linux({ key: 'q', metaKey: true })).toBeNull();
    expect(linux({ key: 'k', ctrlKey: true, metaKey: true })).toBeNull();
  });

  it('Shift or Alt with Ctrl is another shortcut (none of ours)', () => {
    expect(linux({ key: 'K', ctrlKey: true, shiftKey: true })).toBeNull();
    expect(linux({ key: 'w', ctrlKey: true, altKey: true })).toBeNull();
    expect(linux({ key: 'x', ctrlKey: true })).toBeNull();
  });

  it('Alt+↑ / Alt+↓ move through the conversations; with another modifier they do not', () => {
    expect(linux({ key: 'ArrowUp', altKey: true })).toBe('previousConversation');
    expect(linux({ key: 'ArrowDown', altKey: true })).toBe('nextConversation');
    expect(mac({ key: 'ArrowDown', altKey: true })).toBe('nextConversation');
    expect(linux({ key: 'ArrowDown', altKey: true, shiftKey: true })).toBeNull();
    expect(linux({ key: 'ArrowDown', altKey: true, ctrlKey: true })).toBeNull();
    expect(linux({ key: 'ArrowDown' })).toBeNull();
    expect(linux({ key: 'ArrowLeft', altKey: true })).toBeNull();
  });

  it('Esc alone', () => {
    expect(linux({ key: 'Escape' })).toBe('escape');
    expect(linux({ key: 'Escape', shiftKey: true })).toBeNull();
  });

  it('a keyboard layout without Latin letters: the physical key counts (Ctrl+Л is Ctrl+K)', () => {
    expect(linux({ key: 'л', code: 'KeyK', ctrlKey: true })).toBe('quickSwitcher');
    expect(linux({ key: 'й', code: 'KeyQ', ctrlKey: true })).toBe('quitApp');
    // A Latin layout other than QWERTY: the letter typed wins over the position (AZERTY's Q is on KeyA).
    expect(linux({ key: 'q', code: 'KeyA', ctrlKey: true })).toBe('quitApp');
  });

  it('nothing fires while an input method composes (Chinese, Japanese… input)', () => {
    expect(linux({ key: 'Escape', isComposing: true })).toBeNull();
    expect(linux({ key: 'k', ctrlKey: true, isComposing: true })).toBeNull();
    expect(linux({ key: 'ArrowDown', altKey: true, isComposing: true })).toBeNull();
    // WebKit reports only keyCode 229 during composition.
    expect(linux({ key: 'Process', keyCode: 229, ctrlKey: true })).toBeNull();
    expect(linux({ key: 'w', keyCode: 229, ctrlKey: true })).toBeNull();
  });

  const keyEvent = fc.record({
    key: fc.oneof(fc.constantFrom('k', 'f', 'w', 'q', ',', 'K', 'Escape', 'ArrowUp', 'ArrowDown', 'Enter', 'a'), fc.string({ maxLength: 3 })),
    code: fc.option(fc.constantFrom('KeyK', 'KeyW', 'KeyQ', 'KeyF', 'Comma', 'Digit1'), { nil: undefined }),
    ctrlKey: fc.boolean(),
    metaKey: fc.boolean(),
    altKey: fc.boolean(),
    shiftKey: fc.boolean(),
  });

  it('(property) typing never triggers a shortcut, nor does anything during composition', () => {
    fc.assert(
      fc.property(keyEvent, fc.boolean(), (e, isMac) => {
        expect(shortcutFor({ ...e, isComposing: true }, isMac)).toBeNull();
        expect(shortcutFor({ ...e, keyCode: 229 }, isMac)).toBeNull();
        if (e.key !== 'Escape') {
          expect(shortcutFor({ ...e, ctrlKey: false, metaKey: false, altKey: false }, isMac)).toBeNull();
        }
      }),
    );
  });

  it('(property) the window shortcuts need exactly the platform modifier', () => {
    fc.assert(
      fc.property(keyEvent, fc.boolean(), (e, isMac) => {
        const action = shortcutFor(e, isMac);
        if (action === 'closeWindow' || action === 'quitApp') {
          expect(e.shiftKey || e.altKey).toBe(false);
          expect(isMac ? e.metaKey && !e.ctrlKey : e.ctrlKey && !e.metaKey).toBe(true);
        }
      }),
    );
  });
});

describe('how shortcuts are written', () => {
  it('Ctrl+K elsewhere, ⌘K on a Mac; aria-keyshortcuts to match', () => {
    expect(shortcutLabel('quickSwitcher', false)).toBe('Ctrl+K');
    expect(shortcutLabel('quickSwitcher', true)).toBe('⌘K');
    expect(shortcutLabel('nextConversation', false)).toBe('Alt+↓');
    expect(shortcutLabel('previousConversation', true)).toBe('⌥↑');
    expect(ariaKeyShortcuts('quickSwitcher', false)).toBe('Control+K');
    expect(ariaKeyShortcuts('quickSwitcher', true)).toBe('Meta+K');
    expect(ariaKeyShortcuts('nextConversation', false)).toBe('Alt+ArrowDown');
  });

  it('a Mac is told by its platform', () => {
    expect(isMacPlatform({ platform: 'MacIntel' })).toBe(true);
    expect(isMacPlatform({ platform: '', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0)' })).toBe(true);
    expect(isMacPlatform({ platform: 'Linux x86_64' })).toBe(false);
    expect(isMacPlatform({ platform: 'Win32' })).toBe(false);
    expect(isMacPlatform(undefined)).toBe(false);
  });

  it('the quick switcher explains its keys in both languages', () => {
    expect(createTranslator('en')('switcher.hint')).toBe('↑↓ to move, Enter to open, Esc to close');
    expect(createTranslator('zh-CN')('switcher.hint')).toBe('↑↓ 移动，Enter 打开，Esc 关闭');
    expect(createTranslator('zh-CN')('switcher.openLabel', { shortcut: 'Ctrl+K' })).toBe('搜索会话和用户（Ctrl+K）');
  });
});

describe('Alt+↑ / Alt+↓: the conversation they open', () => {
  const ids = ['a', 'b', 'c'];

  it('the next / previous in the list order; from none (or one not in the list), the first; no wrapping', () => {
    expect(adjacentConversation(ids, null, 1)).toBe('a');
    expect(adjacentConversation(ids, null, -1)).toBe('a');
    expect(adjacentConversation(ids, 'zzz', 1)).toBe('a');
    expect(adjacentConversation(ids, 'a', 1)).toBe('b');
    expect(adjacentConversation(ids, 'b', -1)).toBe('a');
    expect(adjacentConversation(ids, 'c', 1)).toBeNull();
    expect(adjacentConversation(ids, 'a', -1)).toBeNull();
    expect(adjacentConversation([], null, 1)).toBeNull();
  });

  it('(property) one step from where it is, in the list', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 20 }), fc.nat(), fc.constantFrom<1 | -1>(1, -1), (list, n, step) => {
        const at = n % list.length;
        const next = adjacentConversation(list, list[at], step);
        if (next === null) expect(at + step < 0 || at + step >= list.length).toBe(true);
        else expect(list.indexOf(next)).toBe(at + step);
      }),
    );
  });
});
