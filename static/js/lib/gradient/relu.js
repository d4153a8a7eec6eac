// ReLU's gradient: δ × [x > 0] (the book's Relu keeps this mask).

import { t } from '../i18n.js';
import { number, slot, termsView, withNumbers } from './format.js';

export function renderInput(answer) {
  const passes = answer.factors[0][1] === 1;
  return termsView(
    answer,
    withNumbers(
      passes
        ? t('%(next)s is a ReLU. Its input here was %(x)s > 0, so ReLU passed it on unchanged and passes the gradient back unchanged: δ × 1.', { next: answer.through, x: slot(0) })
        : t('%(next)s is a ReLU. Its input here was %(x)s ≤ 0, so ReLU output 0 whatever small change came: the gradient stops here, δ × 0.', { next: answer.through, x: slot(0) }),
      [number(answer.input)],
    ),
    { heads: ['δ', '[x > 0]'], describe: () => `δ ${answer.through}[${answer.at.join(',')}]` },
  );
}
