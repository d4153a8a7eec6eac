// The arithmetic of ReLU: max(0, x).

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "relu") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    line.append(`max(0, ${significant(x, 7)}) = `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
    view.body.append(
      element('p', 'explain-note', x > 0 ? t('Positive, so ReLU passes it unchanged.') : t('Not positive, so ReLU makes it 0.')),
      line,
    );
  });
}
