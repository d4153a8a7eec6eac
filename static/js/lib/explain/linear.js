// The arithmetic of a linear activation, which passes its value on.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "linear") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    line.append(`${significant(x, 7)} → `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
    view.body.append(element('p', 'explain-note', t('A linear activation passes the value unchanged.')), line);
  });
}
