// The theme in app.css: the light palette by default, the dark one for `data-theme="dark"`, and
// for a dark system (`prefers-color-scheme: dark`) unless `data-theme="light"`. Checked by
// computing the styles in happy-dom windows with a light and a dark system.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Window } from 'happy-dom';
import { describe, expect, it } from 'vitest';
import { applyTheme, type Theme } from '../savedPreferences';

const css = readFileSync(fileURLToPath(new URL('../../app.css', import.meta.url)), 'utf8');

/** The custom properties a rule block declares, in order. */
function declarations(block: string): [string, string][] {
  return [...block.matchAll(/(--[\w-]+):\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()]);
}

/** The body of the first rule with this selector (the text between its braces). */
function ruleBody(selector: string, from = 0): string {
  const at = css.indexOf(`${selector} {`, from);
  if (at < 0) throw new Error(`app.css has no rule ${selector}`);
  const start = at + selector.length + 2;
  return css.slice(start, css.indexOf('}', start));
}

/** What a property computes to on <html> for this system setting and theme. */
function computed(system: 'light' | 'dark', theme: Theme, property: string): { value: string; scheme: string } {
  const w = new Window({ settings: { device: { prefersColorScheme: system } } });
  const style = w.document.createElement('style');
  style.textContent = css;
  w.document.head.append(style);
  applyTheme(theme, w.document.documentElement as unknown as HTMLElement);
  const cs = w.getComputedStyle(w.document.documentElement);
  const result = { value: cs.getPropertyValue(property).trim(), scheme: cs.getPropertyValue('color-scheme').trim() };
  w.close();
  return result;
}

const light = Object.fromEntries(declarations(ruleBody(':root')));
const dark = Object.fromEntries(declarations(ruleBody(":root[data-theme='dark']")));

describe('the palettes', () => {
  it('the dark palette is written the same twice (a chosen dark theme, a dark system)', () => {
    const media = css.slice(css.indexOf('@media (prefers-color-scheme: dark)'));
    const systemDark = declarations(ruleBody(":root:not([data-theme='light'])", css.length - media.length));
    expect(systemDark.length).toBeGreaterThan(20);
    expect(systemDark).toEqual(declarations(ruleBody(":root[data-theme='dark']")));
  });

  it('every colour the dark palette sets has a light value too, and differs from it', () => {
    for (const [name, value] of Object.entries(dark)) {
      expect(light[name], name).toBeDefined();
      if (!['--fg-selected', '--bubble-out-fg', '--badge-fg'].includes(name)) expect(value, name).not.toBe(light[name]);
    }
  });

  it('nothing else in app.css switches on the system setting', () => {
    expect(css.match(/prefers-color-scheme/g)).toHaveLength(1);
  });
});

describe('data-theme on <html>', () => {
  const cases: [system: 'light' | 'dark', theme: Theme, palette: 'light' | 'dark'][] = [
    ['light', 'system', 'light'],
    ['dark', 'system', 'dark'],
    ['light', 'dark', 'dark'],
    ['dark', 'dark', 'dark'],
    ['light', 'light', 'light'],
    ['dark', 'light', 'light'],
  ];
  for (const [system, theme, palette] of cases) {
    it(`a ${system} system with the theme "${theme}" is ${palette}`, () => {
      const want = palette === 'dark' ? dark : light;
      for (const property of ['--bg', '--fg', '--chat-bg', '--accent', '--focus']) {
        expect(computed(system, theme, property).value, property).toBe(want[property]);
      }
    });
  }

  it('native controls follow: color-scheme is the theme chosen, both for system', () => {
    expect(computed('dark', 'light', '--bg').scheme).toBe('light');
    expect(computed('light', 'dark', '--bg').scheme).toBe('dark');
    expect(computed('light', 'system', '--bg').scheme).toBe('light dark');
  });
});
