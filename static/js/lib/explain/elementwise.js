// The operations that compute one value from one input (ReLU, dropout, rescaling, flatten, the input
// itself): one frame for all of them, the picture of where the input sits and a link to it; each
// operation's own module (relu.js, dropout.js, ...) renders through it.

import { significant } from '../arithmetic.js';
import { t } from '../i18n.js';

/**
 * Render `view.answer` of an element-wise operation: the picture of where its input sits, then
 * `describe(view, line, x)` (the operation's own note and result line, x its input), then a
 * link to how x was computed (unless `linkBack` is false).
 */
export function renderElementwise(view, describe, { linkBack = true } = {}) {
  const answer = view.answer;
  const at = answer.at;
  const input = view.inputLayer();
  const x = answer.inputs[0];
  const line = document.createElement('p');
  line.className = 'explain-line explain-result';
  if (input?.spatial && answer.positions) {
    const [row, column, channel] = answer.positions[0];
    view.showPictures({ channel, box: { top: row, left: column, height: 1, width: 1 } });
  } else if (view.layers[view.index].spatial) {
    view.showPictures({ channel: at[2] ?? 0 });
  }
  describe(view, line, x);
  if (linkBack && answer.input_layer && answer.positions) {
    const where = answer.positions[0];
    view.body.append(view.linkTo(answer.input_layer, where, t('How was %(value)s computed in %(layer)s?', { value: significant(x), layer: answer.input_layer })));
  }
}
