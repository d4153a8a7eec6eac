// A dense (Affine) layer's gradients: of an input, of a weight (input × δ), of a bias (δ).

import { t } from '../i18n.js';
import { termsView } from './format.js';

/** d L / d x[i]: input i reached every unit j through W[i, j], so Σ_j W[i, j] × δ_j. */
export function renderInput(answer) {
  const i = answer.at[0];
  return termsView(
    answer,
    t('%(next)s is a dense layer (Affine): input %(index)s reached each of its %(count)s units through one weight, so its gradient is Σ_j W[%(index)s, j] × δ_j (the book’s dx = dout · Wᵀ).', {
      next: answer.through,
      index: i,
      count: answer.terms.length,
    }),
    {
      heads: [t('weight'), 'δ'],
      describe: (index) => `W[${i},${answer.positions[index][0]}] · δ ${answer.through}[${answer.positions[index][0]}]`,
    },
  );
}

/** d L / d W[i, j] = x_i × δ_j: one term (the book's dW = xᵀ · dout). */
export function renderKernel(answer) {
  const [i, j] = answer.at;
  return termsView(
    answer,
    t('W[%(i)s, %(j)s] multiplies input %(i)s into unit %(j)s only: its gradient is that input times the unit’s δ, one term (the book’s dW = xᵀ · dout).', { i, j }),
    { heads: [t('input'), 'δ'], describe: () => `x[${i}] · δ[${j}]` },
  );
}
