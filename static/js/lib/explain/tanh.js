// The arithmetic of tanh: (e^x − e^−x) / (e^x + e^−x).

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "tanh") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    line.append(`tanh(${significant(x, 7)}) = `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
    view.body.append(element('p', 'explain-note', t('tanh squeezes any number into −1..1, keeping its sign.')), line);
  });
}
