// The gradient through zero padding: the cell was copied to one output cell, shifted by the padding.

import { t } from '../i18n.js';
import { termsView } from './format.js';

export function render(answer) {
  const [row, column] = answer.positions[0];
  return termsView(
    answer,
    t('%(next)s copied this cell to row %(row)s, column %(column)s of its output (the zeros of the border came from no input): the gradient comes back unchanged from there, δ × 1.', {
      next: answer.through,
      row,
      column,
    }),
    { heads: ['δ', t('factor')], describe: () => `δ ${answer.through}[${answer.positions[0].join(',')}]` },
  );
}
