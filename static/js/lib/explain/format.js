// Formatting shared by the arithmetic panel's views (static/js/lib/explain/*.js): numbers that add up
// in the digits they show (see arithmetic.js `apportion`), grids, figures and translated
// sentences with a number element inside.

import { unitsText, significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';

const SUPERSCRIPT = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** `value` as a × 10ⁿ with `digits` significant figures, its minus signs true ones (U+2212, superscript ⁻). */
export function timesTenTo(value, digits) {
  const [mantissa, exponent] = value.toExponential(digits - 1).split('e');
  const power = [...String(Number(exponent))].map((char) => SUPERSCRIPT[char]).join('');
  return `${mantissa.replace('-', '−')} × 10${power}`;
}

/** 4 significant figures; very small numbers as a × 10⁻ⁿ. */
export function scientific(value) {
  if (value === 0 || Math.abs(value) >= 1e-3) return significant(value);
  return timesTenTo(value, 4);
}

/** Decimals for a panel whose largest number is `largest`: four significant figures of it. */
export function decimalsFor(largest) {
  if (!(largest > 0)) return 4;
  return Math.min(6, Math.max(1, 4 - Math.floor(Math.log10(largest))));
}

/** A number shown with `decimals` places, its float32 value in the title. */
export function numberNode(tag, units, decimals, exact, className = 'num') {
  const node = element(tag, className, unitsText(units, decimals));
  if (exact !== undefined) node.title = String(Math.fround(exact));
  return node;
}

export function cellText(layerName, at, channels) {
  if (at.length === 1) return t('%(layer)s · unit %(index)s', { layer: layerName, index: at[0] });
  if (channels > 1) {
    return t('%(layer)s · map #%(channel)s · row %(row)s, column %(column)s', {
      layer: layerName, channel: at[2], row: at[0], column: at[1],
    });
  }
  return t('%(layer)s · row %(row)s, column %(column)s', { layer: layerName, row: at[0], column: at[1] });
}

/** A grid of numbers, `height` x `width`, row by row; `classes(i)` adds classes to cell i. */
export function numberGrid(texts, height, width, { titles = [], classes = () => '', label }) {
  const table = element('table', 'number-grid');
  if (label) table.setAttribute('aria-label', label);
  const body = element('tbody');
  for (let row = 0; row < height; row += 1) {
    const tr = element('tr');
    for (let column = 0; column < width; column += 1) {
      const index = row * width + column;
      const td = element('td', classes(index), texts[index]);
      if (titles[index] !== undefined) td.title = titles[index];
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  return table;
}

// Where a number element goes inside a translated sentence (t() returns plain text).
export const SLOT = '\u0001';

/** A translated sentence made with `{ [name]: SLOT }`, with `node` in the slot. */
export function withNode(text, node) {
  const [before, after = ''] = text.split(SLOT);
  return [before, node, after];
}

export function figure(caption, content) {
  const node = element('figure', 'explain-figure');
  node.append(element('figcaption', null, caption), content);
  return node;
}

/** The last line of a conv or dense view: sum + bias = value, in the panel's digits. */
export function biasLine(answer, sumUnits, biasUnits, valueUnits, decimals) {
  const line = element('p', 'explain-line explain-result');
  line.append(
    numberNode('span', sumUnits, decimals, answer.computed - answer.bias, 'num explain-sum'),
    ' + ',
    t('bias'),
    ' ',
    numberNode('span', biasUnits, decimals, answer.bias, 'num explain-bias'),
    ' = ',
    numberNode('strong', valueUnits, decimals, answer.value, 'num explain-total-value'),
  );
  return line;
}
