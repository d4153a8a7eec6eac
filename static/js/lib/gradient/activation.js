// The gradient through an imported network's Activation layer: sigmoid δ × y(1 − y), tanh δ × (1 − y²),
// linear δ × 1 (relu and softmax have their own views).

import { t } from '../i18n.js';
import { number, slot, termsView, withNumbers } from './format.js';

export function render(answer) {
  const numbers = { next: answer.through, y: slot(0), slope: slot(1) };
  let rule;
  let head;
  if (answer.operation === 'sigmoid') {
    rule = t('%(next)s is a sigmoid. Its output here was y = %(y)s, and the sigmoid’s slope there is y(1 − y) = %(slope)s: δ × y(1 − y).', numbers);
    head = 'y(1 − y)';
  } else if (answer.operation === 'tanh') {
    rule = t('%(next)s is a tanh. Its output here was y = %(y)s, and the slope of tanh there is 1 − y² = %(slope)s: δ × (1 − y²).', numbers);
    head = '1 − y²';
  } else {
    rule = t('%(next)s is a linear activation: it passes the value on unchanged, and the gradient too: δ × 1.', numbers);
    head = t('factor');
  }
  return termsView(
    answer,
    withNumbers(rule, [number(answer.output), number(answer.factors[0][1])]),
    { heads: ['δ', head], describe: () => `δ ${answer.through}[${answer.at.join(',')}]` },
  );
}
