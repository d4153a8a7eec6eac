// The gradient check (勾配確認) and the update of a weight, below a cell's terms.

import { t } from '../i18n.js';
import { element, number } from './format.js';

// Below this loss (−log of 1 − 2⁻²⁴), the label's float32 probability is exactly 1.
const FLOAT32_SURE_LOSS = 2 ** -24;

const OPTIMIZER_NAMES = { sgd: 'SGD', momentum: 'Momentum', adagrad: 'AdaGrad', rmsprop: 'RMSprop', adam: 'Adam' };

/** (L(w + h) − L(w − h)) / 2h beside the backpropagated value, with h and the difference. */
export function renderCheck(answer) {
  const check = answer.numerical;
  if (!check) return null;
  const node = element('div', 'gradient-check');
  node.append(element('h3', null, t('Gradient check (勾配確認)')));
  const difference = Math.abs(check.value - answer.value);
  node.append(
    element(
      'p',
      null,
      t('Numerical differentiation, as the book checks backpropagation: nudge this number by h = %(h)s up and down and run the whole network again (in float64).', { h: check.h }),
    ),
  );
  const list = element('ul', 'check-list');
  list.append(
    element('li', null, `L(+h) = ${number(check.loss_plus, { digits: 10 })},  L(−h) = ${number(check.loss_minus, { digits: 10 })}`),
    element('li', null, t('numerical: (L(+h) − L(−h)) / 2h = %(value)s', { value: number(check.value, { digits: 7 }) })),
    element('li', null, t('backpropagation: %(value)s', { value: number(answer.value, { digits: 7 }) })),
    element('li', 'check-difference', t('difference: %(difference)s', { difference: number(difference, { digits: 2 }) })),
  );
  node.append(list);
  // A reading sure beyond float32: y[label] rounds to 1, so y − t at the label is exactly 0 and backpropagation
  // (float32) carries only rounding residue, while the float64 check sees the true, tiny slope.
  if (check.loss < FLOAT32_SURE_LOSS && difference > 0.01 * Math.max(Math.abs(check.value), Math.abs(answer.value))) {
    node.append(
      element(
        'p',
        'check-float32',
        t('The network is surer than float32 can say: the label’s probability rounds to exactly 1, so y − t there is 0 and the backpropagated numbers are rounding residue, while the float64 check sees the true slope. Choose another label (or draw something less clear) to see the two agree.'),
      ),
    );
  }
  if (check.kink) {
    node.append(
      element(
        'p',
        'check-kink',
        t('Here the loss has a corner (a ReLU input at 0, or equal cells in a max-pooling window): its slope is %(left)s on one side and %(right)s on the other, and the numerical value averages them.', {
          left: number(check.left, { digits: 5 }),
          right: number(check.right, { digits: 5 }),
        }),
      ),
    );
  }
  return node;
}

/** w' = w − η·g with the numbers (SGD), or the optimizer's first step. */
export function renderUpdate(answer) {
  const update = answer.update;
  if (!update) return null;
  const node = element('div', 'gradient-update');
  node.append(element('h3', null, t('The update of this weight')));
  const numbers = {
    w: number(update.weight, { digits: 7 }),
    eta: number(update.rate, { digits: 4 }),
    g: number(update.gradient, { digits: 7 }),
    next: number(update.new, { digits: 7 }),
  };
  if (update.optimizer === 'sgd') {
    node.append(
      element('p', 'update-formula', "w' = w − η·g"),
      element('p', 'update-numbers', `= ${numbers.w} − ${numbers.eta} × ${update.gradient < 0 ? `(${numbers.g})` : numbers.g} = ${numbers.next}`),
    );
  } else {
    node.append(
      element(
        'p',
        'update-numbers',
        t("%(optimizer)s's first step with learning rate η = %(eta)s and gradient g = %(g)s moves w = %(w)s to w' = %(next)s.", {
          optimizer: OPTIMIZER_NAMES[update.optimizer],
          ...numbers,
        }),
      ),
    );
  }
  return node;
}
