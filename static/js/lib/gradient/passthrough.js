// Layers that only move or scale values: flatten, dropout (at inference), rescaling, the input.

import { t } from '../i18n.js';
import { number, termsView } from './format.js';

export function render(answer) {
  let rule;
  switch (answer.operation) {
    case 'flatten':
      rule = t('%(next)s (flatten) only moved this value to place %(index)s of a long vector: its gradient comes back unchanged, δ × 1.', { next: answer.through, index: answer.positions[0][0] });
      break;
    case 'dropout':
      rule = t('%(next)s (dropout) passes every value unchanged here, as when the network reads: the gradient too, δ × 1.', { next: answer.through });
      break;
    case 'rescale':
      rule = t('%(next)s multiplied this pixel by %(scale)s (1/255), so the gradient is δ × %(scale)s: this is the gradient with respect to the pixel in 0..255 units.', { next: answer.through, scale: number(answer.factors[0][1], { digits: 6 }) });
      break;
    default:
      rule = t('%(next)s passes the value on unchanged: δ × 1.', { next: answer.through });
  }
  return termsView(
    answer,
    rule,
    { heads: ['δ', t('factor')], describe: (i) => `δ ${answer.through}[${answer.positions[i].join(',')}]` },
  );
}
