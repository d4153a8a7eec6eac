// The arithmetic of one softmax output: exp of each score (less the largest) over their sum.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { scientific } from './format.js';

/** Render `view.answer` (operation "softmax") into `view.body`. */
export function render(view) {
  const answer = view.answer;
  const k = answer.at[0];
  const total = answer.exponentials.reduce((sum, value) => sum + value, 0);
  view.body.append(
    element(
      'p',
      'explain-note',
      t('Softmax turns the ten scores z of %(layer)s into probabilities: p = exp(z) / sum of exp(z). Subtracting the largest score (%(shift)s) first changes no ratio and keeps exp from overflowing.', {
        layer: answer.input_layer, shift: significant(answer.shift),
      }),
    ),
  );
  const table = element('table', 'explain-terms');
  const head = element('tr');
  for (const text of [t('digit'), t('score z'), 'z − max', 'exp(z − max)']) head.append(element('th', null, text));
  const thead = element('thead');
  thead.append(head);
  const tbody = element('tbody');
  answer.inputs.forEach((score, digit) => {
    const row = element('tr', digit === k ? 'term chosen' : 'term');
    const link = element('td');
    link.append(view.linkTo(answer.input_layer, [digit], String(digit)));
    const exponential = element('td', 'num product', scientific(answer.exponentials[digit]));
    exponential.title = String(answer.exponentials[digit]);
    row.append(link, element('td', 'num', significant(score, 6)), element('td', 'num', significant(score - answer.shift, 6)), exponential);
    tbody.append(row);
  });
  const sumRow = element('tr', 'sum');
  const label = element('td', null, t('sum'));
  label.colSpan = 3;
  // Enough digits that the small terms still show in the sum.
  sumRow.append(label, element('td', 'num', significant(total, 8)));
  tbody.append(sumRow);
  table.append(thead, tbody);
  const line = element('p', 'explain-line explain-result');
  line.append(
    `p(${k}) = ${scientific(answer.exponentials[k])} / ${significant(total, 8)} = `,
    element('strong', 'num explain-total-value', significant(answer.value, 7)),
  );
  view.body.append(table, line);
}
