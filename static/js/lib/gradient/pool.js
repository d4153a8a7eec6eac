// Pooling's gradient: max pooling routes δ to the cell it kept; average pooling shares it.

import { t } from '../i18n.js';
import { termsView } from './format.js';

const cell = (at) => at.join(',');

export function renderMax(answer) {
  const kept = answer.factors.some(([, was]) => was === 1);
  const largest = answer.maxima?.length ? `[${cell(answer.maxima[0])}]` : '—';
  return termsView(
    answer,
    kept
      ? t('%(next)s is max pooling: each window passed on only its largest cell. This cell was the largest of its window, so the window’s δ comes back to it whole (× 1); the other cells of the window get 0.', { next: answer.through })
      : t('%(next)s is max pooling: each window passed on only its largest cell. This cell was not the largest (the largest was %(kept)s), so no gradient comes back to it (× 0).', {
          next: answer.through,
          kept: largest,
        }),
    {
      heads: ['δ', t('was the maximum')],
      describe: (i) => `δ ${answer.through}[${cell(answer.positions[i])}]`,
    },
  );
}

export function renderAverage(answer) {
  return termsView(
    answer,
    t('%(next)s is average pooling: each window’s output was the mean of its cells, so each cell gets the window’s δ divided by the window’s count.', { next: answer.through }),
    { heads: ['δ', '1 / n'], describe: (i) => `δ ${answer.through}[${cell(answer.positions[i])}]` },
  );
}
