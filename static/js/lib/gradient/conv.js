// A convolution's gradients: of its input (every window that saw the cell), of a weight, of a bias.

import { t } from '../i18n.js';
import { termsView } from './format.js';

const cell = (at) => at.join(',');

/** d L / d (input cell): Σ over the windows that saw it of weight × δ of that window's output. */
export function renderInput(answer) {
  return termsView(
    answer,
    t('%(next)s is a convolution: this cell was multiplied by one weight of a filter in every window that covered it. The chain rule adds, over those windows, that weight times the gradient δ of the window’s output (%(count)s windows × filters).', {
      next: answer.through,
      count: answer.terms.length,
    }),
    {
      heads: [t('weight'), t('δ of the output')],
      describe: (i) => `W[${cell(answer.weights_at[i])}] · δ ${answer.through}[${cell(answer.positions[i])}]`,
    },
  );
}

/** d L / d W[ky, kx, c, f]: Σ over the output cells of the input under that weight × δ. */
export function renderKernel(answer) {
  return termsView(
    answer,
    t('This weight multiplied one input value in every window of the filter: the gradient is the sum, over the %(count)s output cells, of the input under the weight times that output’s δ (Σ input window × δ). Windows on the zero padding add nothing and are left out.', {
      count: answer.terms.length,
    }),
    {
      heads: [t('input'), t('δ of the output')],
      describe: (i) => t('input [%(input)s] · δ [%(output)s]', { input: cell(answer.positions[i]), output: cell(answer.deltas_at[i]) }),
    },
  );
}

/** d L / d b[f]: the bias was added to every output of its filter or unit, so Σ δ. */
export function renderBias(answer) {
  return termsView(
    answer,
    t('The bias was added to every one of the %(count)s outputs of its filter (or unit), each time with factor 1: its gradient is the sum of their δ.', {
      count: answer.terms.length,
    }),
    {
      heads: ['δ', t('factor')],
      describe: (i) => `δ [${cell(answer.positions[i])}]`,
    },
  );
}
