// The arithmetic of zero padding: a cell inside copies one cell of the map before; a cell in the
// border is 0.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "zero-padding") into `view.body` and `view.pictures`. */
export function render(view) {
  const answer = view.answer;
  if (answer.source) {
    renderElementwise(view, (view, line) => {
      const [row, column] = answer.source;
      view.body.append(
        element(
          'p',
          'explain-note',
          t('Zero padding computes nothing: this cell is a copy of row %(row)s, column %(column)s of %(layer)s.', {
            row, column, layer: answer.input_layer,
          }),
        ),
      );
      line.append(element('strong', 'num explain-total-value', significant(answer.value, 7)));
      view.body.append(line);
    });
    return;
  }
  view.showPictures({ channel: answer.at[2] });
  const line = element('p', 'explain-line explain-result');
  line.append(element('strong', 'num explain-total-value', '0'));
  view.body.append(element('p', 'explain-note', t('This cell is in the border of zeros the padding adds around the map: it is 0.')), line);
}
