// The arithmetic of the input: the pixel itself.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "input") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    view.body.append(element('p', 'explain-note', t('The input computes nothing: it is the pixel of the image the network saw, from 0 (background) to 255 (ink).')));
    line.append(element('strong', 'num explain-total-value', significant(answer.value, 7)));
    view.body.append(line);
  }, { linkBack: false });
}
