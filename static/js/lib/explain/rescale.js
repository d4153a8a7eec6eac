// The arithmetic of rescaling: the pixel times 1/255.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "rescale") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    line.append(`${significant(x, 7)} × ${significant(answer.scale, 7)} = `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
    view.body.append(element('p', 'explain-note', t('The pixel (0 to 255) times 1/255, so the network works with values from 0 to 1.')), line);
  });
}
