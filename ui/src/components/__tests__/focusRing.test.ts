// What the rendered tests cannot see (happy-dom applies no component styles and renders only some
// states): every component's source read as text. The focus ring (app.css's `:focus-visible`) is
// never taken away, not even by a component's own box-shadow on something Tab reaches; and every
// button whose content is only an icon has a label.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../', import.meta.url);
const components = readdirSync(dir)
  .filter((f) => f.endsWith('.svelte'))
  .map((name) => ({ name, source: readFileSync(new URL(name, dir), 'utf8') }));
const appCss = readFileSync(new URL('../../app.css', import.meta.url), 'utf8');

type Rule = { selector: string; body: string };

/** The rules of a stylesheet (nested blocks such as @media flattened; comments dropped). */
function rules(css: string): Rule[] {
  const found: Rule[] = [];
  const text = css.replace(/\/\*[\s\S]*?\*\//g, '');
  const re = /([^{}]+)\{([^{}]*)\}/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    found.push({ selector: m[1].trim().replace(/^@[^{]*\{\s*/, ''), body: m[2] });
  }
  return found;
}

const styleOf = (source: string) => [...source.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/g)].map((m) => m[1]).join('\n');
const markupOf = (source: string) => source.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<style[\s\S]*?<\/style>/g, '');
const boxShadow = (body: string) => /box-shadow\s*:\s*([^;]+)/.exec(body)?.[1].trim() ?? null;

type Tag = { name: string; attrs: string; end: number };

/** Every opening tag of the markup, its attributes read whole (`onclick={() => x}` has a `>`). */
function tags(markup: string): Tag[] {
  const found: Tag[] = [];
  for (const m of markup.matchAll(/<([a-zA-Z][\w:.-]*)/g)) {
    let depth = 0;
    let quote: string | null = null;
    let i = m.index + m[0].length;
    for (; i < markup.length; i++) {
      const ch = markup[i];
      if (quote) {
        if (ch === quote) quote = null;
      } else if (ch === '"' || ch === "'") {
        if (depth === 0) quote = ch;
      } else if (ch === '{') depth++;
      else if (ch === '}') depth--;
      else if (ch === '>' && depth === 0) break;
    }
    found.push({ name: m[1], attrs: markup.slice(m.index + m[0].length, i), end: i + 1 });
  }
  return found;
}

/** Classes on what Tab can reach: buttons, inputs, links, anything with tabindex 0. */
function focusableClasses(markup: string): Set<string> {
  const classes = new Set<string>();
  for (const { name, attrs } of tags(markup)) {
    if (!/^(button|input|textarea|select|a)$/.test(name) && !/\btabindex="0"/.test(attrs)) continue;
    for (const c of /\bclass="([^"]*)"/.exec(attrs)?.[1].replace(/\{[^}]*\}/g, ' ').split(/\s+/) ?? []) if (c) classes.add(c);
    for (const c of attrs.matchAll(/\bclass:([\w-]+)/g)) classes.add(c[1]);
  }
  return classes;
}

describe('the focus ring', () => {
  it('app.css draws it for whatever has the keyboard focus', () => {
    const ring = rules(appCss).find((r) => r.selector === ':focus-visible');
    expect(ring).toBeDefined();
    expect(boxShadow(ring!.body)).toBe('var(--focus)');
  });

  it('no rule for a focused element removes it', () => {
    for (const { name, css } of [{ name: 'app.css', css: appCss }, ...components.map((c) => ({ name: c.name, css: styleOf(c.source) }))]) {
      for (const r of rules(css).filter((x) => /:focus/.test(x.selector))) {
        const shadow = boxShadow(r.body);
        expect(shadow, `${name}: ${r.selector}`).not.toBe('none');
        if (/outline\s*:\s*(none|0)/.test(r.body)) expect(shadow, `${name}: ${r.selector} removes the outline`).toMatch(/var\(--focus\)|0 0 0 2px/);
      }
    }
  });

  it('a box-shadow of its own on something Tab reaches comes with a :focus-visible rule that keeps the ring', () => {
    const problems: string[] = [];
    for (const { name, source } of components) {
      const classes = focusableClasses(markupOf(source));
      const css = rules(styleOf(source));
      for (const r of css) {
        if (/:focus/.test(r.selector) || !boxShadow(r.body)) continue;
        for (const selector of r.selector.split(',')) {
          const last = selector.trim().split(/\s+/).pop() ?? '';
          const cls = [...last.matchAll(/\.([\w-]+)/g)].map((m) => m[1]).find((c) => classes.has(c));
          if (!cls) continue;
          const kept = css.some((x) => x.selector.includes(`.${cls}:focus-visible`) && /var\(--focus\)|0 0 0 2px/.test(boxShadow(x.body) ?? ''));
          if (!kept) problems.push(`${name}: ${selector.trim()} hides the focus ring`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('(the check finds a component that would hide it)', () => {
    const source = '<button onclick={() => go()} class="fab">x</button><style>.fab { box-shadow: 0 1px 6px black; }</style>';
    expect(focusableClasses(markupOf(source)).has('fab')).toBe(true);
    expect(rules(styleOf(source)).map((r) => r.selector)).toEqual(['.fab']);
  });
});

describe('icon-only buttons', () => {
  it('each has an aria-label (or visible text)', () => {
    const unlabelled: string[] = [];
    for (const { name, source } of components) {
      const markup = markupOf(source);
      for (const { attrs, end } of tags(markup).filter((tag) => tag.name === 'button')) {
        const content = markup.slice(end, markup.indexOf('</button>', end));
        const text = content
          .replace(/<!--[\s\S]*?-->/g, '')
          .replace(/<Icon\b[^>]*\/>/g, '')
          .replace(/<span class="spinner"[^>]*><\/span>/g, '')
          .replace(/<[^>]+>/g, '')
          .trim();
        if (!text && !/\baria-label(ledby)?=/.test(attrs)) unlabelled.push(`${name}: <button${attrs.replace(/\s+/g, ' ').slice(0, 80)}>`);
      }
    }
    expect(components.length).toBeGreaterThan(15);
    expect(unlabelled).toEqual([]);
  });
});
