// Automated accessibility checks for the component tests: axe-core on what a test rendered
// (happy-dom). `expectNoAxeViolations(container)` fails the test with each violation's rule id,
// its help text and the elements concerned.
//
// happy-dom does no layout and paints nothing, so the few rules that measure the page cannot give
// a real answer there; only those are off, each with its reason. Everything else runs.
import axe from 'axe-core';
import { locale } from '../lib/i18n';

/** Rules that need a real layout engine (checked by hand and in the WebDriver e2e run instead). */
export const RULES_NEEDING_LAYOUT: Record<string, string> = {
  // Needs the rendered colours of text and of everything painted behind it (elementsFromPoint, layout).
  'color-contrast': 'no painted layout in happy-dom',
  // Same, for the enhanced (AAA) contrast ratio (off by default; listed so it stays off).
  'color-contrast-enhanced': 'no painted layout in happy-dom',
  // Measures each control's box and its neighbours' (getBoundingClientRect is all zeros here).
  'target-size': 'no box sizes in happy-dom',
};

/**
 * happy-dom has no user-agent stylesheet: an element with the `hidden` attribute still counts as
 * displayed, so axe would check (and flag) what no one can see or reach, e.g. the Settings form's
 * hidden username field for password managers. The browsers' rule, added once.
 */
function addUserAgentRules(doc: Document) {
  if (doc.getElementById('axe-ua-rules')) return;
  const style = doc.createElement('style');
  style.id = 'axe-ua-rules';
  style.textContent = '[hidden]:not([hidden="until-found"]) { display: none !important; }';
  doc.head.append(style);
}

export type AxeViolation = { id: string; help: string; targets: string[]; html: string[] };

export type AxeOptions = {
  /**
   * `container` is a whole screen, the page's only content: the page is checked, so the rules
   * about the page as a whole apply too (all content inside landmarks, one `main`, an `h1`…).
   * The test document first gets what index.html and main.ts give the app's (`<title>`, `<html lang>`).
   */
  page?: boolean;
};

/** The violations axe finds in `container` (rules that need layout excepted). */
export async function axeViolations(container: Element, options: AxeOptions = {}): Promise<AxeViolation[]> {
  const rules: Record<string, { enabled: boolean }> = {};
  for (const id of Object.keys(RULES_NEEDING_LAYOUT)) rules[id] = { enabled: false };
  const doc = container.ownerDocument;
  addUserAgentRules(doc);
  if (options.page) {
    if (!doc.title) doc.title = 'Gtedx IM';
    if (!doc.documentElement.lang) doc.documentElement.lang = locale;
    const strays = [...doc.body.children].filter((c) => c !== container && !c.contains(container));
    if (strays.length > 0) throw new Error(`the page holds more than the screen: ${strays.map((c) => c.outerHTML.slice(0, 80)).join(', ')}`);
  }
  const results = await axe.run(options.page ? doc : container, { rules, resultTypes: ['violations'] });
  return results.violations.map((v) => ({
    id: v.id,
    help: v.help,
    targets: v.nodes.map((n) => n.target.join(' ')),
    html: v.nodes.map((n) => (n.html.length > 160 ? `${n.html.slice(0, 160)}…` : n.html)),
  }));
}

/** One line per violation, `id: help (target, target…)`, then each element's HTML. */
export function describeViolations(violations: AxeViolation[]): string {
  return violations
    .map((v) => [`${v.id}: ${v.help} (${v.targets.join(', ')})`, ...v.html.map((h) => `    ${h}`)].join('\n'))
    .join('\n');
}

/** Fails (throws) listing every violation axe finds in `container`. */
export async function expectNoAxeViolations(container: Element, options: AxeOptions = {}): Promise<void> {
  const violations = await axeViolations(container, options);
  if (violations.length > 0) {
    throw new Error(`${violations.length} accessibility violation(s):\n${describeViolations(violations)}`);
  }
}
