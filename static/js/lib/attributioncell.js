// The numbers behind one heat cell, per method, from POST /api/attribution?at=<row>,<column>.

import { formatValue } from './heatmap.js';
import { language, t } from './i18n.js';

// Probabilities near 1 differ only in their last digits (99.9996% and 99.96%): six significant ones show it.
const percent = new Intl.NumberFormat(language, { style: 'percent', maximumSignificantDigits: 6 });
const share = new Intl.NumberFormat(language, { style: 'percent', maximumSignificantDigits: 3 });

function line(text, className = '') {
  const paragraph = document.createElement('p');
  paragraph.textContent = text;
  if (className) paragraph.className = className;
  return paragraph;
}

const v = formatValue;

function occlusion(cell, answer, targetName) {
  const { patch } = cell;
  const parts = [
    line(t('The %(height)s×%(width)s patch at rows %(top)s–%(bottom)s, columns %(left)s–%(right)s.', {
      height: patch.height, width: patch.width, top: patch.top, bottom: patch.top + patch.height - 1,
      left: patch.left, right: patch.left + patch.width - 1,
    })),
    line(t('Probability of %(target)s with the patch: %(with)s; with the patch blanked: %(without)s.', {
      target: targetName, with: percent.format(cell.probability), without: percent.format(cell.probability_without),
    }), 'why-cell-main'),
    line(t('Score (logit) with the patch: %(with)s; blanked: %(without)s; drop: %(drop)s.', {
      with: v(cell.logit), without: v(cell.logit_without), drop: v(cell.value),
    })),
  ];
  if (!cell.inked) parts.push(line(t('This patch holds no ink: blanking it changes nothing, so it was not read again.')));
  return parts;
}

function saliency(cell) {
  const parts = [
    line(t('∂score/∂pixel = %(value)s: one more unit of ink here (of 255) would change the score by about that much. The pixel is %(pixel)s.', {
      value: v(cell.value), pixel: cell.pixel,
    }), 'why-cell-main'),
    line(t('The path back, by the chain rule (as on the learning page): each layer’s gradient is a sum of terms; at each layer, the largest term leads on towards the score.')),
  ];
  const list = document.createElement('ol');
  list.className = 'why-path';
  for (const step of cell.path) {
    const item = document.createElement('li');
    const where = document.createElement('code');
    where.textContent = `${step.layer}[${step.at.join(', ')}]`;
    const gradient = t('∂score/∂ = %(gradient)s', { gradient: v(step.gradient) });
    item.append(where, ' ', gradient);
    if (step.term !== undefined) {
      item.append(
        document.createElement('br'),
        line(t('largest of %(count)s terms: %(a)s × %(b)s = %(term)s', {
          count: step.terms, a: v(step.factors[0]), b: v(step.factors[1]), term: v(step.term),
        }), 'why-path-term'),
      );
    } else if (step.ends) {
      item.append(line(t('no term is non-zero here: a max pooling did not choose this cell, so no gradient comes back'), 'why-path-term'));
    }
    list.append(item);
  }
  parts.push(list);
  return parts;
}

function gradientTimesInput(cell) {
  return [
    line(t('gradient %(gradient)s × pixel %(pixel)s = %(value)s', {
      gradient: v(cell.gradient), pixel: cell.pixel, value: v(cell.value),
    }), 'why-cell-main'),
  ];
}

function gradCam(cell, answer) {
  const { layer, weights } = answer.grad_cam;
  const parts = [
    line(t('Cell (%(row)s, %(column)s) of %(layer)s: Σ weight × activation = %(sum)s; after the ReLU %(cam)s. At this pixel, between the cells around it: %(value)s.', {
      row: cell.cam_at[0], column: cell.cam_at[1], layer, sum: v(cell.sum), cam: v(cell.cam_value), value: v(cell.value),
    }), 'why-cell-main'),
    line(t('The largest terms of the sum:')),
  ];
  const order = cell.terms.map((term, channel) => channel).sort((a, b) => Math.abs(cell.terms[b]) - Math.abs(cell.terms[a]));
  const list = document.createElement('ul');
  list.className = 'why-terms';
  for (const channel of order.slice(0, 5)) {
    const item = document.createElement('li');
    item.textContent = t('map #%(channel)s: weight %(weight)s × activation %(activation)s = %(term)s', {
      channel, weight: v(weights[channel]), activation: v(cell.activations[channel]), term: v(cell.terms[channel]),
    });
    list.append(item);
  }
  parts.push(list);
  return parts;
}

function integratedGradients(cell, answer) {
  return [
    line(t('attribution %(value)s = pixel %(pixel)s × average gradient %(gradient)s; its share of the sum %(sum)s: %(share)s.', {
      value: v(cell.value), pixel: cell.pixel, gradient: v(cell.mean_gradient), sum: v(answer.completeness.sum),
      share: share.format(cell.share === 0 ? 0 : cell.share).replace('-', '−'),
    }), 'why-cell-main'),
  ];
}

const VIEWS = {
  occlusion,
  saliency,
  'gradient-x-input': gradientTimesInput,
  'grad-cam': gradCam,
  'integrated-gradients': integratedGradients,
};

/** Fill the panel's title and body for `answer` (with `cell`), the map of `name` (a network, or the gate). */
export function renderCell(title, body, answer, name) {
  const [row, column] = answer.cell.at;
  title.textContent = t('%(name)s · row %(row)s, column %(column)s', { name, row, column });
  const targetName = answer.of === 'gate' ? t('not a digit') : String(answer.target);
  body.replaceChildren(...VIEWS[answer.method](answer.cell, answer, targetName));
}
