// Example digits for the pad: MNIST test digits (a random one, or one of each
// digit) and a few drawn cases worth a lesson. The buttons are in the page
// (`[data-testid=example]`, `data-example` says which). An MNIST digit's label
// is told only once the network has read it, and a random digit's only when the
// learner asks for it (`[data-testid=reveal-label]`), so a learner can guess first.

import { t } from './i18n.js';
import { fetchRandomDigit } from './mnist.js';

// Drawn cases, in pad units (0..1). Each is a polyline per stroke; `note()` is its lesson.
const CASES = {
  'flagged-one': {
    strokes: [
      [[0.36, 0.33], [0.53, 0.17], [0.53, 0.82]],
      [[0.38, 0.82], [0.68, 0.82]],
    ],
    note: () =>
      t('A 1 with a flag and a base, as it is printed and as many people in Japan and Europe write it. MNIST’s writers rarely drew their 1s this way.'),
  },
  'crossed-seven': {
    strokes: [
      [[0.3, 0.22], [0.7, 0.22], [0.46, 0.82]],
      [[0.4, 0.52], [0.68, 0.52]],
    ],
    note: () => t('A 7 with a crossbar, as many people in Europe write it. MNIST has few of them.'),
  },
  'open-four': {
    strokes: [
      [[0.36, 0.2], [0.33, 0.58], [0.72, 0.58]],
      [[0.62, 0.26], [0.62, 0.84]],
    ],
    note: () => t('A 4 open at the top, as many people write it.'),
  },
  'not-a-digit': {
    strokes: [
      [[0.3, 0.8], [0.5, 0.2], [0.7, 0.8]],
      [[0.38, 0.58], [0.62, 0.58]],
    ],
    note: () =>
      t('The letter A: not a digit. A network trained only on the ten digits answers with one of them anyway, unless it was also taught to say “none”.'),
  },
};

const SPACING = 0.02; // pad units between the points of a drawn case

/** A polyline with points every SPACING, so the pad's smoothing keeps its corners. */
function densify(stroke) {
  const points = [stroke[0]];
  for (let index = 1; index < stroke.length; index += 1) {
    const [ax, ay] = stroke[index - 1];
    const [bx, by] = stroke[index];
    const steps = Math.max(1, Math.ceil(Math.hypot(bx - ax, by - ay) / SPACING));
    for (let step = 1; step <= steps; step += 1) points.push([ax + ((bx - ax) * step) / steps, ay + ((by - ay) * step) / steps]);
  }
  return points;
}

/**
 * Wire the example buttons inside `root` to `pad`. Returns `answered(answer)`,
 * which the page calls with each reading: it tells the MNIST digit's label (or
 * the drawn case's lesson) once the picture on the pad has been read.
 */
export function connectExamples(root, pad, { onError = () => {} } = {}) {
  const label = root.querySelector('[data-testid=example-label]');
  let caseNote = null; // the lesson of the drawn case on the pad, if one is
  let placing = false;
  // A random MNIST digit whose label the learner has not asked for yet. A digit chosen by its label
  // (a digit button, a record page's confusion cell, a shared link) comes with its label.
  let guessing = false;
  let lastAnswer = null;

  root.addEventListener('click', async (event) => {
    const button = event.target.closest?.('[data-testid=example]');
    if (!button) return;
    const kind = button.dataset.example;
    if (kind === 'mnist') {
      try {
        const digit = await fetchRandomDigit(button.dataset.label === undefined ? null : Number(button.dataset.label));
        caseNote = null;
        placing = true;
        pad.show({ mnist: digit });
        placing = false;
        guessing = button.dataset.label === undefined;
      } catch (error) {
        onError(error);
      }
    } else if (CASES[kind]) {
      placing = true;
      caseNote = CASES[kind].note();
      pad.show({ strokes: CASES[kind].strokes.map(densify) });
      placing = false;
    }
  });

  pad.addEventListener('change', () => {
    if (!placing) caseNote = null;
    guessing = false;
    label.hidden = true;
  });

  label.addEventListener('click', (event) => {
    if (!event.target.closest?.('[data-testid=reveal-label]')) return;
    guessing = false;
    if (lastAnswer) tell(lastAnswer);
    label.focus({ preventScroll: true });
  });

  /** Say the MNIST digit's label beside the network's reading, or offer to (a random digit: guess first). */
  function tell(answer) {
    const { index, label: truth } = pad.mnist;
    if (guessing) {
      const ask = document.createElement('button');
      ask.type = 'button';
      ask.dataset.testid = 'reveal-label';
      ask.textContent = t('Show its label');
      label.replaceChildren(t('MNIST test digit #%(index)s. What does its writer say it is? Guess, then:', { index }), ' ', ask);
      delete label.dataset.label;
      label.hidden = false;
      return;
    }
    if (answer.digit === truth) {
      label.textContent = t('MNIST test digit #%(index)s. Its label: %(label)s. The network read it right.', { index, label: truth });
    } else if (answer.digit === null) {
      label.textContent = t('MNIST test digit #%(index)s. Its label: %(label)s. The network gave no digit.', { index, label: truth });
    } else {
      label.textContent = t('MNIST test digit #%(index)s. Its label: %(label)s. The network read %(digit)s: a mistake.', {
        index,
        label: truth,
        digit: answer.digit,
      });
    }
    label.dataset.label = String(truth);
    label.hidden = false;
  }

  return {
    answered(answer) {
      lastAnswer = answer;
      if (pad.mnist) {
        tell(answer);
      } else if (caseNote) {
        label.textContent = caseNote;
        delete label.dataset.label;
        label.hidden = false;
      }
    },
  };
}
