// The gradient through global average pooling: every cell of a map gets the map's δ / (H × W).

import { t } from '../i18n.js';
import { element, termsTable, valueLine } from './format.js';

export function render(answer) {
  const node = element('div');
  const [row, column, channel] = answer.at;
  node.append(
    element(
      'p',
      'gradient-rule',
      t('%(next)s took the mean of the whole map #%(channel)s: each of its cells, (%(row)s, %(column)s) among them, counted 1 / (H × W) of it, so its gradient is the map’s δ × 1 / (H × W).', {
        next: answer.through,
        channel,
        row,
        column,
      }),
    ),
    termsTable(answer, { heads: ['δ', '1 / (H × W)'], describe: () => `δ ${answer.through}[${channel}]` }),
    valueLine(answer),
  );
  return node;
}
