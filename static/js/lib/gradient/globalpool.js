// The gradient through global average pooling: every cell of a map gets the map's δ / (H × W).

import { t } from '../i18n.js';
import { termsView } from './format.js';

export function render(answer) {
  const [row, column, channel] = answer.at;
  return termsView(
    answer,
    t('%(next)s took the mean of the whole map #%(channel)s: each of its cells, (%(row)s, %(column)s) among them, counted 1 / (H × W) of it, so its gradient is the map’s δ × 1 / (H × W).', {
      next: answer.through,
      channel,
      row,
      column,
    }),
    { heads: ['δ', '1 / (H × W)'], describe: () => `δ ${answer.through}[${channel}]` },
  );
}
