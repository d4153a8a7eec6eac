// The gradients through batch normalization as the network reads (mean and variance constants):
// of an input, δ × γ / √(variance + ε); of γ, Σ x̂ × δ over the channel's cells; of β, Σ δ.

import { t } from '../i18n.js';
import { number, sentence, slot, termsView, withNumbers } from './format.js';

export function renderInput(answer) {
  return termsView(
    answer,
    withNumbers(
      t('%(next)s is a batch normalization. As the network reads, its mean and variance are constants, so its input reaches the output only through the factor γ / √(variance + ε) = %(gamma)s / %(deviation)s: δ × γ / √(variance + ε).', {
        next: answer.through,
        gamma: slot(0),
        deviation: slot(1),
      }),
      [number(answer.gamma), number(answer.deviation)],
    ),
    { heads: ['δ', 'γ / √(σ² + ε)'], describe: () => `δ ${answer.through}[${answer.at.join(',')}]` },
  );
}

export function renderGamma(answer) {
  const channel = answer.at[0];
  const node = termsView(
    answer,
    t('γ of channel #%(channel)s scales every cell of that channel: its gradient is the sum over those %(count)s cells of x̂ × δ, x̂ = (x − mean) / √(variance + ε) being the cell’s normalised input.', {
      channel,
      count: answer.terms.length,
    }),
    { heads: ['x̂', 'δ'], describe: (index) => `x̂[${answer.positions[index].join(',')}] · δ[${answer.positions[index].join(',')}]` },
  );
  // The channel's mean and √(variance + ε), from which each x̂ was made.
  const statistics = t('For channel #%(channel)s: x̂ = (x − %(mean)s) / %(deviation)s.', { channel, mean: slot(0), deviation: slot(1) });
  node.firstChild.after(sentence('p', 'gradient-statistics', statistics, [number(answer.mean), number(answer.deviation)]));
  return node;
}

export function renderBeta(answer) {
  return termsView(
    answer,
    t('β of channel #%(channel)s was added to every one of its %(count)s cells, each time with factor 1: its gradient is the sum of their δ.', {
      channel: answer.at[0],
      count: answer.terms.length,
    }),
    { heads: ['δ', t('factor')], describe: (index) => `δ[${answer.positions[index].join(',')}]` },
  );
}
