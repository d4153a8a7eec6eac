// The arithmetic of flatten: a cell of the maps before, in a row.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { renderElementwise } from './elementwise.js';

/** Render `view.answer` (operation "flatten") into `view.body` and `view.pictures`. */
export function render(view) {
  renderElementwise(view, (view, line, x) => {
    const answer = view.answer;
    const at = answer.at;
    const [row, column, channel] = answer.source;
    view.body.append(
      element(
        'p',
        'explain-note',
        t('Flatten computes nothing: entry %(index)s is the value at row %(row)s, column %(column)s of map #%(channel)s of %(layer)s (read row by row, the maps of each cell side by side).', {
          index: at[0], row, column, channel, layer: answer.input_layer,
        }),
      ),
    );
    line.append(element('strong', 'num explain-total-value', significant(answer.value, 7)));
    view.body.append(line);
  });
}
