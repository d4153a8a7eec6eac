// The gradient check (勾配確認) and the update of a weight, below a cell's terms.

import { t } from '../i18n.js';
import { element, number, sentence, slot, withNumbers } from './format.js';

// Just below 1, float32 numbers are 2⁻²⁴ apart and float64 numbers 2⁻⁵³: a probability y near 1 is known to a
// few steps of its type (the softmax's sum, just above 1, rounds at each addition), and so is y − t = −(1 − y).
const FLOAT32_STEP = 2 ** -24;
const FLOAT64_STEP = 2 ** -53;
// Backpropagation and the check agree when they differ by at most 1% of the larger.
const AGREE = 0.01;
// How many times the share of y − t that float32 cannot resolve (2⁻²⁴ / L) a disagreement may be and still
// be float32's: that error passes back through every layer, and where a gradient is a difference of nearly
// equal parts its share grows. Measured on LeNet (a drawn 0, L = 1.07 × 10⁻⁶, 80 cells): where backpropagation
// in float64 agreed with the check, float32's backpropagation was off by up to 3.7 times 2⁻²⁴ / L.
const FLOAT32_SHARES = 4;

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
  // Each number a span kept whole: at 390 px "−8.344650 ×" and "10⁻⁷" fell on two lines.
  list.append(
    sentence('li', null, `L(+h) = ${slot(0)},  L(−h) = ${slot(1)}`, [
      number(check.loss_plus, { digits: 10 }),
      number(check.loss_minus, { digits: 10 }),
    ]),
    sentence('li', null, t('numerical: (L(+h) − L(−h)) / 2h = %(value)s', { value: slot(0) }), [number(check.value, { digits: 7 })]),
    sentence('li', null, t('backpropagation: %(value)s', { value: slot(0) }), [number(answer.value, { digits: 7 })]),
    sentence('li', 'check-difference', t('difference: %(difference)s', { difference: slot(0) }), [number(difference, { digits: 2 })]),
  );
  node.append(list);
  const note = float32Note(answer, check, difference);
  if (note) {
    const paragraph = element('p', 'check-float32');
    paragraph.append(...note);
    node.append(paragraph);
  }
  if (check.kink) {
    node.append(
      sentence(
        'p',
        'check-kink',
        t('Here the loss has a corner (a ReLU input at 0, or equal cells in a max-pooling window): its slope is %(left)s on one side and %(right)s on the other, and the numerical value averages them.', {
          left: slot(0),
          right: slot(1),
        }),
        [number(check.left, { digits: 5 }), number(check.right, { digits: 5 })],
      ),
    );
  }
  return node;
}

/**
 * Why backpropagation disagrees with the check when the network is about as sure as float32 can say, or null
 * when they agree or the disagreement has another cause. `answer.loss` is −log of the float32 probability of
 * the label: 0 when float32 rounded it to 1.
 */
function float32Note(answer, check, difference) {
  const larger = Math.max(Math.abs(check.value), Math.abs(answer.value));
  const share = difference / larger;
  if (check.kink || !(share > AGREE)) return null;
  if (answer.loss === 0) {
    // y[label] is 1 in float32: y − t there is exactly 0 and backpropagation carries only rounding residue.
    return [t('The network is surer than float32 can say: the label’s probability rounds to exactly 1, so y − t there is 0 and the backpropagated numbers are rounding residue, while the float64 check sees the true slope. Choose another label (or draw something less clear) to see the two agree.')];
  }
  const unresolved = FLOAT32_STEP / answer.loss; // the share of y − t = −(1 − y) that float32 cannot resolve
  // Other causes: a corner the one-sided slopes show but the kink test (an absolute 10⁻⁶) missed for slopes this
  // small; or a difference the check itself cannot resolve (its L near 0 is known to about 2⁻⁵³, so its slope to
  // 2⁻⁵³ / 2h).
  const smooth = Math.abs(check.right - check.left) < 0.1 * difference;
  const resolved = difference > 100 * (FLOAT64_STEP / (2 * check.h));
  if (!(share <= FLOAT32_SHARES * unresolved) || !smooth || !resolved) return null;
  return withNumbers(
    t('The network is almost as sure as float32 can say: near 1, float32 probabilities are only %(step)s apart and the softmax rounds to those steps, so y − t at the label (%(delta)s in float32) is known only to a few steps, each about %(percent)s of it. Backpropagation computes in float32, as the network does, and that error passes back into every gradient; the check computes in float64. Choose another label (or draw something less clear) to see the two agree.', {
      step: slot(0),
      delta: slot(1),
      percent: slot(2),
    }),
    [
      `2⁻²⁴ ≈ ${number(FLOAT32_STEP, { digits: 3 })}`,
      number(Math.expm1(-answer.loss), { digits: 6 }),
      `${number(100 * unresolved, { digits: 2 })}%`,
    ],
  );
}

/** w' = w − η·g with the numbers (SGD), or the optimizer's first step. */
export function renderUpdate(answer) {
  const update = answer.update;
  if (!update) return null;
  const node = element('div', 'gradient-update');
  node.append(element('h3', null, t('The update of this weight')));
  // Each number a span kept whole (the line breaks anywhere else: overflow-wrap in learn.css).
  const numbers = [
    number(update.weight, { digits: 7 }),
    number(update.rate, { digits: 4 }),
    number(update.gradient, { digits: 7 }),
    number(update.new, { digits: 7 }),
  ];
  const slots = { w: slot(0), eta: slot(1), g: slot(2), next: slot(3) };
  if (update.optimizer === 'sgd') {
    node.append(
      element('p', 'update-formula', "w' = w − η·g"),
      sentence('p', 'update-numbers', `= ${slots.w} − ${slots.eta} × ${update.gradient < 0 ? `(${slots.g})` : slots.g} = ${slots.next}`, numbers),
    );
  } else {
    node.append(
      sentence(
        'p',
        'update-numbers',
        t("%(optimizer)s's first step with learning rate η = %(eta)s and gradient g = %(g)s moves w = %(w)s to w' = %(next)s.", {
          optimizer: OPTIMIZER_NAMES[update.optimizer],
          ...slots,
        }),
        numbers,
      ),
    );
  }
  const unseen = unseenChange(update, numbers[0] === numbers[3]);
  if (unseen) node.append(unseen);
  return node;
}

/** The gap between a float32 number and the next one away from 0 (|w| normal: 2^(exponent − 23)). */
function float32Gap(value) {
  return 2 ** (Math.floor(Math.log2(Math.abs(value))) - 23);
}

/**
 * Why w' reads the same as w, or null when the update shows: the weight, kept in float32, did not move at all
 * (its step rounds back to it), or it moved by less than the 7 digits shown.
 */
function unseenChange(update, sameDigits) {
  if (update.new === update.weight) {
    if (update.gradient === 0 || update.weight === 0) return null;
    return sentence(
      'p',
      'update-unseen',
      t('In float32 this weight stays exactly the same: its step is less than half the gap between w and the next float32 number (%(gap)s), so w plus the step rounds back to w.', { gap: slot(0) }),
      [number(float32Gap(update.weight), { digits: 3 })],
    );
  }
  if (!sameDigits) return null;
  return sentence(
    'p',
    'update-unseen',
    t('The weight did move, by %(change)s (w plus its step, rounded to the nearest float32 number): too little to show in 7 significant digits.', { change: slot(0) }),
    [number(update.new - update.weight, { digits: 3 })],
  );
}
