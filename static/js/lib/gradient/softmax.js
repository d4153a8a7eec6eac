// Where backpropagation starts: the softmax with the cross-entropy error (the book's SoftmaxWithLoss).

import { t } from '../i18n.js';
import { number, probabilityText, slot, termsView, withNumbers } from './format.js';

/** d L / d score k = y_k − t_k. */
export function renderLoss(answer) {
  const k = answer.at[0];
  const teacher = answer.factors[1][0];
  // y written so that y − t is the gradient in the digits the panel's title shows it with (y near 1 as 1 − ε).
  const y = probabilityText(answer.factors[0][0], number(answer.value, { digits: 6 }), (written, complement) =>
    teacher === 1 ? -complement : written,
  );
  return termsView(
    answer,
    withNumbers(
      t('The softmax turned the scores into probabilities y, and the loss is the cross-entropy error L = −log y[label]. Together their gradient with respect to score %(k)s is simply y_%(k)s − t_%(k)s (the book’s SoftmaxWithLoss: y − t), with y_%(k)s = %(y)s and t_%(k)s = %(t)s.', {
        k,
        y: slot(0),
        t: teacher,
      }),
      [y.text],
    ),
    {
      heads: [t('value'), t('sign')],
      describe: (i) => (i === 0 ? `y_${k}` : `t_${k}`),
      // The terms as the rule writes them: y + (−t) adds up to the title in its digits (near 1,
      // 1 − 1.07288 × 10⁻⁶ − 1 = −1.07288 × 10⁻⁶, where 1.0000 − 1.00000 would read 0).
      written: {
        factors: [[y.difference ? `(${y.text})` : y.text, '1'], [String(teacher), '−1']],
        terms: [y.text, teacher ? '−1' : '0'],
        total: number(answer.computed, { digits: 6 }),
      },
    },
  );
}

/** d L / d y_k = −t_k / y_k. */
export function renderProbability(answer) {
  const k = answer.at[0];
  return termsView(
    answer,
    t('L = −log y[label] depends only on the probability of the label: ∂L/∂y_k = −t_k / y_k, which is −1 / y for the label and 0 for every other digit.'),
    { heads: ['t_k', '−1 / y_k'], describe: () => `k = ${k}` },
  );
}

/** The softmax's own backward, from d L / d y: Σ_j δ_j y_j ([j = k] − y_k). */
export function renderSoftmax(answer) {
  return termsView(
    answer,
    t('Every probability depends on every score: ∂y_j/∂x_k = y_j([j = k] − y_k), so the gradient of score k is Σ_j δ_j × y_j([j = k] − y_k).'),
    { heads: ['δ_j', 'y_j([j = k] − y_k)'], describe: (i) => `j = ${answer.positions[i][0]}` },
  );
}
