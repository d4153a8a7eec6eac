// The arithmetic of batch normalization as the network reads: (x − mean) / √(variance + ε) · γ + β,
// with the channel's four numbers (the statistics it had over the training data, γ and β learned).

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "batch-norm") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    view.body.append(
      element(
        'p',
        'explain-note',
        t('Batch normalization puts each channel on a similar scale with four numbers of its own: the mean and variance the channel had over the training data, and γ and β, learned. As the network reads, they are constants.'),
      ),
    );
    const table = element('table', 'explain-terms explain-batch-norm');
    const body = element('tbody');
    const rows = [
      ['x', x, t('the input value')],
      [t('mean'), answer.mean, t('channel #%(channel)s over the training data', { channel: answer.channel })],
      [t('variance'), answer.variance, t('channel #%(channel)s over the training data', { channel: answer.channel })],
      ['ε', answer.epsilon, t('keeps the square root away from 0'), 3],
      ['γ', answer.gamma, t('learned scale')],
      ['β', answer.beta, t('learned shift')],
    ];
    for (const [name, value, note, digits = 7] of rows) {
      const row = element('tr');
      const cell = element('td', 'num', significant(value, digits));
      cell.title = String(value);
      row.append(element('th', null, name), cell, element('td', 'explain-note', note));
      body.append(row);
    }
    table.append(body);
    const first = element(
      'p',
      'explain-line',
      `(${significant(x, 7)} − ${significant(answer.mean, 7)}) / √(${significant(answer.variance, 7)} + ${significant(answer.epsilon, 3)}) = ${significant(answer.normalised, 7)}`,
    );
    line.append(
      `${significant(answer.normalised, 7)} · ${significant(answer.gamma, 7)} + ${significant(answer.beta, 7)} = `,
      element('strong', 'num explain-total-value', significant(answer.value, 7)),
    );
    view.body.append(table, first, line);
  });
}
