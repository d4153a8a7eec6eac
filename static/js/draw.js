// The drawing page: draw a digit, read it live.

import { describeError, postImage } from './lib/api.js';
import { connectPad } from './lib/controls.js';
import { language, t } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { Pad } from './lib/pad.js';
import { buildBars, renderImage, renderProbabilities } from './lib/render.js';
import { saveDrawing } from './lib/store.js';

const page = document.body.dataset;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const prediction = document.querySelector('[data-testid=prediction]');
const status = document.querySelector('[data-testid=status]');
const bars = document.querySelector('[data-testid=probabilities]');
const modelInput = document.querySelector('[data-testid=model-input]');
const hint = document.querySelector('#pad-hint');
const undoButton = document.querySelector('[data-testid=undo]');
const clearButton = document.querySelector('[data-testid=clear]');

buildBars(bars);

const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });

function showStatus(text, kind = 'info') {
  status.textContent = text;
  status.dataset.kind = kind;
}

function showNothing() {
  prediction.textContent = '';
  prediction.dataset.reason = 'blank';
  renderProbabilities(bars, null);
  renderImage(modelInput, null);
  showStatus(t('Draw a digit, 0 to 9, on the pad.'));
}

function showAnswer(answer) {
  renderProbabilities(bars, answer.probabilities);
  renderImage(modelInput, answer.input);
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
      t('That does not look like a digit. The network alone would have said %(digit)s (%(percent)s): it knows only the ten digits, so it always picks one. A second small network, taught letters, signs and scribbles too, says this is none of them.', {
        digit: best,
        percent: percent.format(answer.confidence),
      }),
    );
  } else {
    const best = answer.probabilities.indexOf(answer.confidence);
    showStatus(
      t('Not sure: maybe a %(digit)s (%(percent)s). Try drawing it bigger or clearer.', {
        digit: best,
        percent: percent.format(answer.confidence),
      }),
    );
  }
}

const reader = new LiveReader({
  request: async (signal) => postImage(page.predictUrl, await pad.toBlob(), signal),
  onAnswer: (answer) => showAnswer(answer),
  onError: (error) => {
    showStatus(t('%(problem)s Keep drawing: the next stroke tries again.', { problem: describeError(error) }), 'error');
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
});

// The layers page opens on the same drawing (kept in localStorage).
document.querySelector('#to-layers').addEventListener('click', () => saveDrawing(pad.drawing));
