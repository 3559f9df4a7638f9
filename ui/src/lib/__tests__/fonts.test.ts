// The app's font stack (app.css): Latin text must never be drawn by a CJK font, whose quotes and
// apostrophes are full-width, and emoji need a colour emoji font.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const css = readFileSync(fileURLToPath(new URL('../../app.css', import.meta.url)), 'utf8');

function fontStack(): string[] {
  const declaration = /--font:\s*([^;]+);/.exec(css);
  if (!declaration) throw new Error('app.css declares no --font');
  return declaration[1].split(',').map((f) => f.trim().replace(/^['"]|['"]$/g, ''));
}

const CJK = /CJK|PingFang|YaHei|Source Han|WenQuanYi|Hiragino|SimSun|SimHei/i;
const GENERIC = ['system-ui', 'sans-serif', 'serif', 'ui-sans-serif'];

describe('the font stack', () => {
  it('puts every Latin font before any CJK font and before the generic families', () => {
    const stack = fontStack();
    const firstCjk = stack.findIndex((f) => CJK.test(f));
    const firstGeneric = stack.findIndex((f) => GENERIC.includes(f));
    expect(firstCjk).toBeGreaterThan(0);
    expect(firstGeneric).toBeGreaterThan(firstCjk);
    const latin = stack.filter((f) => !CJK.test(f) && !GENERIC.includes(f) && !/emoji/i.test(f));
    expect(latin).toContain('Noto Sans');
    expect(latin).toContain('DejaVu Sans'); // Debian's and Ubuntu's default sans
    for (const font of latin) expect(stack.indexOf(font), font).toBeLessThan(firstCjk);
  });

  it('ends with the colour emoji fonts of each platform', () => {
    const stack = fontStack();
    const emoji = stack.slice(stack.indexOf('sans-serif') + 1);
    expect(emoji).toEqual(['Apple Color Emoji', 'Segoe UI Emoji', 'Noto Color Emoji']);
  });
});
