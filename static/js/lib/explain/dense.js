// The arithmetic of one dense unit: each input times its weight, the largest products listed, plus the bias.

import { apportion, significant, toUnits } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { biasLine, decimalsFor, numberNode } from './format.js';

const DENSE_SHOWN = 8; // a dense unit's largest contributions listed one by one

/** Render `view.answer` (operation "dense") into `view.body`. */
export function render(view) {
  const answer = view.answer;
  const products = answer.inputs.map((value, i) => ({ index: i, value, weight: answer.weights[i], product: value * answer.weights[i] }));
  const largest = Math.max(Math.abs(answer.value), Math.abs(answer.bias), ...products.map((term) => Math.abs(term.product)));
  const decimals = decimalsFor(largest);
  const valueUnits = toUnits(answer.value, decimals);
  const biasUnits = toUnits(answer.bias, decimals);
  const sumUnits = valueUnits - biasUnits;
  const ranked = [...products].sort((first, second) => Math.abs(second.product) - Math.abs(first.product));
  const shown = ranked.slice(0, DENSE_SHOWN);
  const rest = ranked.slice(DENSE_SHOWN);
  const restSum = rest.reduce((total, term) => total + term.product, 0);
  const units = apportion([...shown.map((term) => term.product), ...(rest.length ? [restSum] : [])].map((value) => value * 10 ** decimals), sumUnits);

  view.body.append(
    element(
      'p',
      'explain-note',
      t('Each of the %(count)s inputs from %(layer)s is multiplied by this unit\'s own weight; the largest products are listed, the others added together.', {
        count: answer.inputs.length, layer: answer.input_layer,
      }),
    ),
  );
  const table = element('table', 'explain-terms');
  const head = element('tr');
  for (const text of [t('input'), t('value'), '×', t('weight'), '=', t('product')]) head.append(element('th', null, text));
  const thead = element('thead');
  thead.append(head);
  const tbody = element('tbody');
  shown.forEach((term, i) => {
    const row = element('tr', 'term');
    const link = element('td');
    link.append(view.linkTo(answer.input_layer, [term.index], `#${term.index}`));
    row.append(
      link,
      element('td', 'num', significant(term.value)),
      element('td', 'op', '×'),
      element('td', 'num', significant(term.weight)),
      element('td', 'op', '='),
      numberNode('td', units[i], decimals, term.product, 'num product'),
    );
    row.children[1].title = String(term.value);
    row.children[3].title = String(term.weight);
    tbody.append(row);
  });
  if (rest.length) {
    const row = element('tr', 'term rest');
    const label = element('td', null, t('the other %(count)s products', { count: rest.length }));
    label.colSpan = 5;
    row.append(label, numberNode('td', units[units.length - 1], decimals, restSum, 'num product'));
    tbody.append(row);
  }
  const sumRow = element('tr', 'sum');
  const sumLabel = element('td', null, t('sum of all %(count)s products', { count: answer.inputs.length }));
  sumLabel.colSpan = 5;
  sumRow.append(sumLabel, numberNode('td', sumUnits, decimals, answer.computed - answer.bias, 'num'));
  tbody.append(sumRow);
  table.append(thead, tbody);
  const zeros = products.filter((term) => term.value === 0).length;
  view.body.append(table);
  if (zeros) {
    view.body.append(element('p', 'explain-note', t('Inputs that are 0 here, so add nothing: %(count)s of %(total)s.', { count: zeros, total: products.length })));
  }
  view.body.append(biasLine(answer, sumUnits, biasUnits, valueUnits, decimals));
}
