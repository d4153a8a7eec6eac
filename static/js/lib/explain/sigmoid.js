// The arithmetic of the logistic sigmoid: 1 / (1 + e^−x).

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';
import { scientific } from './format.js';

/** Render `view.answer` (operation "sigmoid") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    line.append(
      `1 / (1 + e^−(${significant(x, 7)})) = 1 / (1 + ${scientific(answer.exponential)}) = `,
      element('strong', 'num explain-total-value', significant(answer.value, 7)),
    );
    view.body.append(
      element('p', 'explain-note', t('The sigmoid squeezes any number into 0..1: large positive values come close to 1, large negative ones close to 0.')),
      line,
    );
  });
}
