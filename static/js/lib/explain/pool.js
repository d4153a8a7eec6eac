// The arithmetic of one pooling cell: the window, and its largest value (max) or its mean (average).

import { significant } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { figure, numberGrid } from './format.js';

/** Render `view.answer` (operation "max-pool" or "average-pool") into `view.body` and `view.pictures`. */
export function render(view) {
  const answer = view.answer;
  const { height, width } = answer.window;
  const max = answer.operation === 'max-pool';
  view.showPictures({ channel: answer.at[2], box: answer.window, slide: true, stride: view.layers[view.index].settings.strides ?? view.layers[view.index].settings.pool_size });
  const texts = answer.inputs.map((value) => significant(value));
  const grid = numberGrid(texts, height, width, {
    titles: answer.inputs.map(String),
    classes: (i) => (max && i === answer.chosen ? 'chosen' : ''),
    label: t('pooling window'),
  });
  view.body.append(figure(t('Window'), grid));
  const line = element('p', 'explain-line explain-result');
  if (max) {
    line.append(`max(${texts.join(', ')}) = `, element('strong', 'num explain-total-value', significant(answer.value)));
    view.body.append(element('p', 'explain-note', t('Max pooling keeps the largest value of the window (marked).')), line);
    view.body.append(view.linkTo(answer.input_layer, answer.positions[answer.chosen], t('How was %(value)s computed in %(layer)s?', { value: texts[answer.chosen], layer: answer.input_layer })));
  } else {
    line.append(`(${texts.join(' + ')}) / ${texts.length} = `, element('strong', 'num explain-total-value', significant(answer.value)));
    view.body.append(element('p', 'explain-note', t('Average pooling takes the mean of the window.')), line);
  }
}
