// The drawing page: draw a digit, read it live.

import { ApiError, describeError, postImage } from './lib/api.js';
import { connectCheckpoints } from './lib/checkpoints.js';
import { connectCompare, markChosen, renderCompare } from './lib/compare.js';
import { connectPad } from './lib/controls.js';
import { connectExamples } from './lib/examples.js';
import { language, t } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { apiUrl, chooseModel, inputSize, onModelChange } from './lib/network.js';
import { Pad } from './lib/pad.js';
import { buildBars, renderImage, renderProbabilities } from './lib/render.js';

const page = document.body.dataset;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const prediction = document.querySelector('[data-testid=prediction]');
const status = document.querySelector('[data-testid=status]');
const explanation = document.querySelector('[data-testid=explanation]');
const bars = document.querySelector('[data-testid=probabilities]');
const modelInput = document.querySelector('[data-testid=model-input]');
const hint = document.querySelector('#pad-hint');
const undoButton = document.querySelector('[data-testid=undo]');
const clearButton = document.querySelector('[data-testid=clear]');
const compare = document.querySelector('[data-testid=compare]');

buildBars(bars);

const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });

// On a phone the verdict sits above the pad and keeps one height whatever it says (app.css), so the
// pad never moves under the finger: a short status there, the longer words below the pad.
const phone = window.matchMedia('(max-width: 819px)');
function placeExplanation() {
  (phone.matches ? document.querySelector('#explanation-below-pad') : status.parentElement).append(explanation);
}
phone.addEventListener('change', placeExplanation);
placeExplanation();

/** Say `text` in the verdict and `more` (the why, the what next) in the explanation. */
function showStatus(text, kind = 'info', more = '') {
  status.textContent = text;
  status.dataset.kind = kind;
  explanation.textContent = more;
  explanation.hidden = !more;
}

/** The captions and label of the model's input say its size (28x28, or 32x32 for LeNet-5's size). */
function describeInput(size) {
  document.querySelectorAll('.caption[data-input-size]').forEach((caption) => {
    caption.hidden = Number(caption.dataset.inputSize) !== size;
  });
  modelInput.setAttribute('aria-label', t('the %(size)s by %(size)s image the network was given', { size }));
}

function showNothing() {
  renderCompare(compare, null);
  prediction.textContent = '';
  prediction.dataset.reason = 'blank';
  renderProbabilities(bars, null);
  renderImage(modelInput, null);
  showStatus(t('Draw a digit, 0 to 9, on the pad.'));
}

function showAnswer(answer) {
  examples.answered(answer);
  renderProbabilities(bars, answer.probabilities);
  renderImage(modelInput, answer.input);
  describeInput(answer.input.length);
  renderCompare(compare, answer.compare);
  if (answer.digit !== null) {
    prediction.textContent = String(answer.digit);
    prediction.dataset.reason = 'read';
    showStatus(t('Read as %(digit)s, %(percent)s sure.', { digit: answer.digit, percent: percent.format(answer.confidence) }));
    return;
  }
  prediction.textContent = '?';
  prediction.dataset.reason = answer.reason;
  if (answer.reason === 'empty') {
    showStatus(t('Nothing to read yet: that is too small to be a digit.'));
  } else if (answer.reason === 'not-a-digit') {
    const best = answer.probabilities.indexOf(answer.confidence);
    showStatus(
      t('That does not look like a digit.'),
      'info',
      t('The network alone would have said %(digit)s (%(percent)s): it knows only the ten digits, so it always picks one. A second small network, taught letters, signs and scribbles too, says this is none of them.', {
        digit: best,
        percent: percent.format(answer.confidence),
      }),
    );
  } else {
    const best = answer.probabilities.indexOf(answer.confidence);
    showStatus(
      t('Not sure: maybe a %(digit)s (%(percent)s).', { digit: best, percent: percent.format(answer.confidence) }),
      'info',
      t('Try drawing it bigger or clearer.'),
    );
  }
}

function showError(error) {
  showStatus(error instanceof ApiError ? describeError(error) : error.message, 'error');
}

const examples = connectExamples(document.querySelector('.examples'), pad, { onError: showError });

const reader = new LiveReader({
  // One request reads the drawing with the chosen network and with every other one for the strip.
  request: async (signal) => postImage(apiUrl(page.predictUrl, { compare: 1 }), await pad.toBlob(), signal),
  onAnswer: (answer) => showAnswer(answer),
  onError: (error) => {
    showStatus(describeError(error), 'error', t('Keep drawing: the next stroke tries again.'));
  },
  onState: (state) => {
    prediction.dataset.state = state;
    prediction.setAttribute('aria-busy', String(state === 'pending'));
  },
});

connectPad(pad, reader, {
  undoButton,
  clearButton,
  onEmpty: showNothing,
  onChange: () => {
    hint.hidden = !pad.isEmpty;
  },
  onError: showError,
});

connectCompare(compare, chooseModel);
onModelChange((name) => {
  markChosen(compare, name);
  describeInput(inputSize());
  if (!pad.isEmpty) reader.changed({ final: true });
});
describeInput(inputSize());
// Another checkpoint of the network's training: read the drawing again with it.
connectCheckpoints({
  onChange: () => {
    if (!pad.isEmpty) reader.changed({ final: true });
  },
});
