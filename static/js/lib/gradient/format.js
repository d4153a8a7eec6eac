// The shared formatter of the gradient views: numbers as the page writes them, and the terms of a
// gradient cell adding up to its value (each term a × b), the largest first.

import { timesTenTo } from '../explain/format.js';
import { t } from '../i18n.js';

export const MAX_TERMS_SHOWN = 12;

export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/**
 * A number with a real minus sign, to `digits` significant digits (or fixed `decimals`); very small or
 * large ones as a × 10ⁿ, as the arithmetic panel of /layers writes them (never "e-11").
 */
export function number(value, { digits = 4, decimals = null } = {}) {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  if (decimals === null && value !== 0 && Math.abs(value) < 1e-4) return timesTenTo(value, digits);
  let text = decimals === null ? value.toPrecision(digits) : value.toFixed(decimals);
  if (text.includes('e')) return timesTenTo(value, digits); // 12345.6 to 4 digits is "1.235e+4"
  if (Number(text) === 0) text = text.replace('-', '');
  return text.replace('-', '−');
}

// Where number i goes in a translated sentence (t() returns plain text; a translation may reorder them).
export const slot = (index) => `\u0001${index}\u0001`;

/** The nodes of a sentence made with slot(i) for numbers[i]: each number a span kept whole on one line. */
export function withNumbers(text, numbers) {
  return text.split(/\u0001(\d)\u0001/).map((part, index) => (index % 2 ? element('span', 'number', numbers[Number(part)]) : part));
}

/** An element holding a sentence made with slot(i) for numbers[i], each number kept whole (withNumbers). */
export function sentence(tag, className, text, numbers) {
  const node = element(tag, className);
  node.append(...withNumbers(text, numbers));
  return node;
}

// Within this distance of 1 a probability is written 1 − ε: as a decimal it is a run of 9s whose last digits,
// the ones −log y and y − 1 are made of, would take 8 to 13 significant digits to show.
const NEAR_ONE = 0.01;

/**
 * A probability y in [0, 1] written so that a number computed from it holds in the digits shown: `result` of
 * the y written, written by `number` with `digits`, is the text `shown`. The fewest significant digits from
 * `digits` up that do it (more where the result sits near a rounding boundary); a y within 0.01 of 1 as
 * "1 − ε" with ε = 1 − y (exact for a float32 y), so its digits are ε's; 1 and 0 as "1" and "0".
 *
 * Args: `result(written, complement)` gets the y written and 1 − it (exact near 1: for log1p and y − 1).
 * Returns: `{ text, difference }`, `difference` true for "1 − ε" (to be bracketed after −log).
 */
export function probabilityText(value, shown, result, { digits = 6 } = {}) {
  if (value === 1 || value === 0) return { text: String(value), difference: false };
  const difference = 1 - value < NEAR_ONE;
  const write = (written) => {
    if (difference) {
      const epsilon = Number((1 - value).toPrecision(written));
      return { text: `1 − ${number(epsilon, { digits: written })}`, value: 1 - epsilon, complement: epsilon };
    }
    const y = Number(value.toPrecision(written));
    return { text: number(y, { digits: written }), value: y, complement: 1 - y };
  };
  // 17 digits write any float64 exactly. A `shown` that even they miss was rounded elsewhere (a float32
  // gradient against its exact value): then 9 digits, a float32's, and the page's float32 notes say the rest.
  for (let written = digits; written <= 17; written += 1) {
    const candidate = write(written);
    if (number(result(candidate.value, candidate.complement), { digits }) === shown) return { text: candidate.text, difference };
  }
  return { text: write(9).text, difference };
}

/** −log y for `probabilityText`: log1p(−(1 − y)) near 1, where y itself has lost the digits of 1 − y. */
export function minusLog(written, complement) {
  return complement < 0.5 ? -Math.log1p(-complement) : -Math.log(written);
}

/** Decimals that show `value`'s scale to about `digits` significant digits (for sums shown in one column). */
export function decimalsFor(scale, digits = 5) {
  if (!(scale > 0) || !Number.isFinite(scale)) return 4;
  return Math.min(12, Math.max(0, digits - 1 - Math.floor(Math.log10(scale))));
}

/** "(a)" with brackets around a negative number, so a product reads a × (−b). */
export function factor(value, options) {
  const text = number(value, options);
  return value < 0 ? `(${text})` : text;
}

/**
 * The table of terms: each row a × b = term, the largest |term| first, at most MAX_TERMS_SHOWN rows;
 * the rest as one row of their sum, so the column adds up to the value. `describe(i)` names row i's
 * factors (where they come from); `heads` the two factors' column titles. `written`, if given, is the
 * texts of the numbers instead (`factors[i]`, `terms[i]`, `total`), for a view whose numbers must be
 * written so that they add up to its title (the softmax's y − t near 1).
 */
export function termsTable(answer, { heads, describe, written = null }) {
  const count = answer.terms.length;
  const order = [...answer.terms.keys()].sort((i, j) => Math.abs(answer.terms[j]) - Math.abs(answer.terms[i]));
  const shown = order.slice(0, MAX_TERMS_SHOWN);
  const rest = order.slice(MAX_TERMS_SHOWN);
  const scale = Math.max(...answer.terms.map(Math.abs), Math.abs(answer.value), 1e-30);
  const decimals = decimalsFor(scale, 6);
  const table = element('table', 'terms-table');
  const head = element('tr');
  for (const text of [t('from'), heads[0], '', heads[1], '', t('term')]) head.append(element('th', null, text));
  table.append(element('thead'));
  table.tHead.append(head);
  const body = element('tbody');
  for (const index of shown) {
    const [a, b] = answer.factors[index];
    const row = element('tr');
    row.append(
      element('td', 'term-from', describe(index)),
      element('td', 'num', written ? written.factors[index][0] : number(a, { digits: 5 })),
      element('td', 'op', '×'),
      element('td', 'num', written ? written.factors[index][1] : number(b, { digits: 5 })),
      element('td', 'op', '='),
      element('td', 'num', written ? written.terms[index] : number(answer.terms[index], { decimals })),
    );
    body.append(row);
  }
  if (rest.length) {
    const restSum = rest.reduce((sum, index) => sum + answer.terms[index], 0);
    const zeros = rest.filter((index) => answer.terms[index] === 0).length;
    const row = element('tr', 'terms-rest');
    const cell = element(
      'td',
      null,
      zeros === rest.length
        ? t('the other %(count)s terms are 0', { count: rest.length })
        : t('the other %(count)s terms (%(zeros)s of them 0), added up', { count: rest.length, zeros }),
    );
    cell.colSpan = 5;
    row.append(cell, element('td', 'num', number(restSum, { decimals })));
    body.append(row);
  }
  const total = element('tr', 'terms-total');
  const label = element('td', null, t('sum of the %(count)s terms', { count }));
  label.colSpan = 5;
  total.append(label, element('td', 'num', written ? written.total : number(answer.computed, { decimals })));
  body.append(total);
  table.append(body);
  return table;
}

/** A line under the table: the gradient as the vectorised backward pass computed it, in float32. */
export function valueLine(answer) {
  return sentence(
    'p',
    'gradient-value',
    t('The backward pass of the whole layer (float32) gives %(value)s; the terms above, added in float64, give %(sum)s.', {
      value: slot(0),
      sum: slot(1),
    }),
    [number(answer.value, { digits: 7 }), number(answer.computed, { digits: 7 })],
  );
}

/**
 * The view of most gradient cells: the rule in words (a text, or withNumbers' nodes), the table of its
 * terms (`table`: termsTable's options) and the backward pass's value under it.
 */
export function termsView(answer, rule, table) {
  const node = element('div');
  const ruleNode = element('p', 'gradient-rule');
  ruleNode.append(...(Array.isArray(rule) ? rule : [rule]));
  node.append(ruleNode, termsTable(answer, table), valueLine(answer));
  return node;
}
