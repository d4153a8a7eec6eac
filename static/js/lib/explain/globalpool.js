// The arithmetic of global average pooling: one number per map, the mean of all its values.

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';

/** Render `view.answer` (operation "global-average-pool") into `view.body` and `view.pictures`. */
export function render(view) {
  const answer = view.answer;
  const channel = answer.at[0];
  view.showPictures({ channel, box: answer.window });
  const total = answer.inputs.reduce((sum, value) => sum + value, 0);
  view.body.append(
    element(
      'p',
      'explain-note',
      t('Global average pooling takes the mean of the whole map #%(channel)s of %(layer)s: all %(count)s values.', {
        channel, layer: answer.input_layer, count: answer.count,
      }),
    ),
  );
  const line = element('p', 'explain-line explain-result');
  line.append(`${significant(total, 7)} / ${answer.count} = `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
  view.body.append(line);
}
