// The learning page: one real training step on the drawing, every gradient explained.
//
// The drawing is read live (/api/predict) to offer its label; then /api/learn takes the steps on a
// copy of the weights and answers the loss, δ, every layer's gradient and the trajectory, and a
// second request adds the 1,000-digit probe (it costs the server far more than the steps).
// A chosen cell goes to /api/learn/explain, whose terms the per-operation views show.

import { ApiError, describeError, postImage } from './lib/api.js';
import { connectPad } from './lib/controls.js';
import { connectExamples } from './lib/examples.js';
import { language, t, tn } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { apiUrl, onModelChange } from './lib/network.js';
import { Pad } from './lib/pad.js';
import { buildBands, cellOf, gradientKey } from './lib/gradient/bands.js';
import { renderCheck, renderUpdate } from './lib/gradient/check.js';
import { element, minusLog, number, probabilityText, slot, withNumbers } from './lib/gradient/format.js';
import { renderTerms } from './lib/gradient/index.js';
import { drawLossPlot } from './lib/gradient/plot.js';

const DEFAULT_RATES = { sgd: 0.01, momentum: 0.01, adagrad: 0.01, rmsprop: 0.001, adam: 0.001 };
const NAMES = { sgd: 'SGD', momentum: 'Momentum', adagrad: 'AdaGrad', rmsprop: 'RMSprop', adam: 'Adam' };

const page = document.body.dataset;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const prediction = document.querySelector('[data-testid=prediction]');
const status = document.querySelector('[data-testid=status]');
const result = document.querySelector('#learn-result');
const empty = document.querySelector('#learn-empty');
const offer = document.querySelector('#label-offer');
const optimizerChoice = document.querySelector('[data-testid=optimizer]');
const rateInput = document.querySelector('[data-testid=rate]');
const stepsInput = document.querySelector('[data-testid=steps]');
const compareChoice = document.querySelector('[data-testid=compare-optimizer]');
const compareRate = document.querySelector('[data-testid=compare-rate]');
const bandsNode = document.querySelector('#gradient-bands');
const panel = document.querySelector('#gradient-panel');
const panelTitle = panel.querySelector('.explain-title');
const panelStatus = panel.querySelector('.explain-status');
const panelBody = panel.querySelector('.gradient-panel-body');
const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 1 });

let reading = null; // the latest /api/predict answer
let chosenLabel = null; // the label the learner chose for this drawing (null: the reading's)
let learned = null; // the latest /api/learn answer (with layers)
let series = []; // the plot's lines
let learning = null; // AbortController of the learning requests in flight
let explaining = null;
let chosen = null; // {layer, of, at} of the cell explained
let learnTimer = null;
let stroking = false; // a stroke is being drawn

document.querySelector('#gradient-key').replaceChildren(gradientKey());

// --- Reading the drawing and offering its label -------------------------------------------------------

function label() {
  const checked = document.querySelector('input[name=label]:checked');
  return checked ? Number(checked.value) : null;
}

function offerLabel() {
  const truth = pad.mnist?.label;
  const offered = chosenLabel ?? truth ?? reading?.digit ?? reading?.probabilities.indexOf(Math.max(...reading.probabilities));
  const input = document.querySelector(`input[name=label][value="${offered}"]`);
  if (input) input.checked = true;
  if (truth !== undefined && truth !== null) {
    offer.textContent = t('An MNIST test digit labelled %(label)s; the network reads %(digit)s.', { label: truth, digit: reading?.digit ?? '?' });
  } else if (reading?.digit !== null && reading?.digit !== undefined) {
    offer.textContent = t('The network reads %(digit)s. If you meant another digit, choose it: the step will teach it that.', { digit: reading.digit });
  } else {
    offer.textContent = t('The network gives no digit. Choose the one you meant.');
  }
}

function showReading(answer) {
  examples.answered(answer);
  reading = answer;
  prediction.textContent = answer.digit === null ? '?' : String(answer.digit);
  status.dataset.kind = 'info';
  status.textContent =
    answer.digit === null
      ? t('Not sure what digit this is.')
      : t('Read as %(digit)s, %(percent)s sure.', { digit: answer.digit, percent: percent.format(answer.confidence) });
  offerLabel();
  // Learn from the finished drawing, not from every reading while a stroke is drawn.
  clearTimeout(learnTimer);
  if (!stroking) learnTimer = setTimeout(learn, 150);
}

function showNothing() {
  prediction.textContent = '';
  reading = null;
  chosenLabel = null;
  learning?.abort();
  status.dataset.kind = 'info';
  status.textContent = t('Draw a digit, then see how the network would learn it.');
  result.hidden = true;
  empty.hidden = false;
  hidePanel();
}

function showError(error) {
  status.dataset.kind = 'error';
  status.textContent = error instanceof ApiError ? describeError(error) : error.message;
}

const examples = connectExamples(document.querySelector('.examples'), pad, { onError: showError });
pad.addEventListener('change', () => {
  chosenLabel = null;
});
pad.addEventListener('strokestart', () => {
  stroking = true;
});
pad.addEventListener('strokeend', () => {
  stroking = false;
});

const reader = new LiveReader({
  request: async (signal) => postImage(apiUrl(page.predictUrl), await pad.toBlob(), signal),
  onAnswer: showReading,
  onError: (error) => showError(error),
  onState: (state) => {
    prediction.dataset.state = state;
  },
  interval: 400,
});

connectPad(pad, reader, { undoButton: document.querySelector('[data-testid=undo]'), clearButton: document.querySelector('[data-testid=clear]'), onEmpty: showNothing, onError: showError });

onModelChange(() => {
  learned = null;
  hidePanel();
  if (pad.isEmpty) showNothing();
  else reader.changed({ final: true });
});

// --- Learning ----------------------------------------------------------------------------------------------

function settings(kind = optimizerChoice.value, rateField = rateInput) {
  const rate = Number(rateField.value);
  const steps = Math.round(Number(stepsInput.value));
  return {
    optimizer: kind,
    rate: Number.isFinite(rate) && rate > 0 && rate <= 10 ? rate : DEFAULT_RATES[kind],
    steps: Number.isFinite(steps) ? Math.min(50, Math.max(1, steps)) : 1,
  };
}

const BUSY_RETRIES = 4;

/**
 * POST the drawing to `url`; a server shedding load (a worker busy with other steps, a full queue) answers 503:
 * wait at least its Retry-After (10 s at most), longer each time, and retry; `onRetry(error)` before each wait.
 */
async function postRetrying(url, signal, onRetry = () => {}) {
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await postImage(url, await pad.toBlob(), signal);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 503) || attempt >= BUSY_RETRIES) throw error;
      onRetry(error);
      await new Promise((resolve) => setTimeout(resolve, Math.max(800 * (attempt + 1), 1000 * Math.min(10, error.retryAfter ?? 0))));
      if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
    }
  }
}

function learnRequest(params, signal) {
  return postRetrying(apiUrl(page.learnUrl, params), signal);
}

/** Take the steps with the settings shown: the gradients and the trajectory first, then the probe. */
async function learn() {
  const digit = label();
  if (digit === null || pad.isEmpty) return;
  learning?.abort();
  const controller = new AbortController();
  learning = controller;
  const chosenSettings = settings();
  result.dataset.state = 'pending';
  try {
    // dense_kernels=0: the dense layers' kernel gradients (most of the answer) are not drawn here; a chosen
    // weight's gradient comes from /api/learn/explain.
    const answer = await learnRequest({ label: digit, ...chosenSettings, probe: 0, dense_kernels: 0 }, controller.signal);
    if (controller.signal.aborted) return;
    learned = answer;
    series = [{ name: NAMES[answer.optimizer], losses: [answer.loss, ...answer.trajectory.map((step) => step.loss)] }];
    showLearned(answer);
    result.dataset.state = 'done';
    probe(digit, chosenSettings, controller);
  } catch (error) {
    if (error.name === 'AbortError') return;
    result.dataset.state = 'done';
    showError(error);
  }
}

async function probe(digit, chosenSettings, controller) {
  const line = document.querySelector('[data-testid=probe]');
  line.dataset.state = 'pending';
  line.textContent = t('Measuring the step on 1,000 MNIST test digits…');
  try {
    const answer = await learnRequest({ label: digit, ...chosenSettings, probe: 1, layers: 0 }, controller.signal);
    if (controller.signal.aborted) return;
    const { before, after, size } = answer.probe;
    const measured = t('On %(size)s fixed MNIST test digits the network read %(before)s right before the steps and %(after)s after them.', {
      size: size.toLocaleString(language),
      before: percent.format(before),
      after: percent.format(after),
    });
    const broke = t('Teaching one drawing this hard broke others.');
    line.textContent = after < before ? `${measured} ${broke}` : measured;
    line.dataset.state = 'done';
  } catch (error) {
    if (error.name === 'AbortError') return;
    line.dataset.state = 'done';
    line.textContent = error instanceof ApiError ? describeError(error) : error.message;
  }
}

function probabilityRows(node, before, after, digit) {
  node.replaceChildren(
    ...before.map((value, index) => {
      const item = element('li', index === digit ? 'after-bar label' : 'after-bar');
      const track = element('span', 'after-track');
      const old = element('span', 'after-old');
      old.style.width = `${(value * 100).toFixed(1)}%`;
      const now = element('span', 'after-new');
      now.style.width = `${((after[index] ?? 0) * 100).toFixed(1)}%`;
      track.append(old, now);
      item.append(element('span', 'after-digit', String(index)), track, element('span', 'after-value', `${percent.format(value)} → ${after[index] === null ? '—' : percent.format(after[index])}`));
      return item;
    }),
  );
}

/**
 * L = −log y[label] with the numbers: the loss as the server computed it (−log of the float32 probability, in
 * float64), and y written with the digits that make −log of it that loss in the digits shown.
 */
function lossLine(answer) {
  const { label, loss } = answer;
  const probability = answer.probabilities[label];
  if (probability === 1 && loss === 0) {
    // The softmax in float32 rounded the label's probability to 1: the others' sum is what it lost.
    const rest = answer.probabilities.reduce((sum, value, digit) => (digit === label ? sum : sum + value), 0);
    return withNumbers(t('Cross-entropy error (交差エントロピー誤差) of the label %(label)s: L = −log y[%(label)s] = −log 1 = 0. In float32, y[%(label)s] is exactly 1: the other probabilities add up to only %(rest)s, too little to move it off 1 (the nearest float32 number below 1 is %(below)s).', {
      label,
      rest: slot(0),
      below: slot(1),
    }), [number(rest, { digits: 2 }), `1 − ${number(2 ** -24, { digits: 3 })}`]);
  }
  // A probability 0 in float32 (a label the network rules out by a logit gap over ~100) has the loss ∞ (null).
  const shown = probability === 0 ? '∞' : number(loss, { digits: 6 });
  const y = probabilityText(probability, shown, minusLog);
  const p = y.difference ? `(${y.text})` : y.text; // −log (1 − ε), not −log 1 − ε
  return withNumbers(t('Cross-entropy error (交差エントロピー誤差) of the label %(label)s: L = −log y[%(label)s] = −log %(p)s = %(loss)s', {
    label,
    p: slot(0),
    loss: slot(1),
  }), [p, shown]);
}

function showLearned(answer) {
  empty.hidden = true;
  result.hidden = false;
  document.querySelector('[data-testid=loss]').replaceChildren(...lossLine(answer));
  const deltas = document.querySelector('[data-testid=delta]');
  deltas.replaceChildren(
    ...answer.delta.map((value, digit) => {
      const item = element('li');
      const button = element('button', digit === answer.label ? 'delta-cell label' : 'delta-cell');
      button.type = 'button';
      button.dataset.digit = String(digit);
      const shown = number(value, { digits: 4 });
      button.append(element('span', 'delta-digit', String(digit)), element('span', 'delta-value number', shown));
      button.setAttribute('aria-label', t('δ of digit %(digit)s: %(value)s; explain it', { digit, value: shown }));
      button.addEventListener('click', () => explain({ layer: logitsName(), of: 'output', at: [digit] }));
      item.append(button);
      return item;
    }),
  );
  const last = answer.trajectory[answer.trajectory.length - 1];
  const after = last.probabilities;
  const best = after.indexOf(Math.max(...after.filter((value) => value !== null)));
  const afterLine = document.querySelector('[data-testid=after]');
  afterLine.dataset.digit = last.loss === null ? '' : String(best);
  if (last.loss === null) {
    afterLine.textContent = t('After %(steps)s steps with %(optimizer)s (η = %(rate)s) the numbers ran out of range: the learning rate is far too large.', { steps: answer.steps, optimizer: NAMES[answer.optimizer], rate: answer.rate });
  } else {
    // The losses a span each, kept whole ("1.073 × 10⁻⁶" never "1.073 ×" / "10⁻⁶").
    afterLine.replaceChildren(...withNumbers(
      tn('After %(num)s step with %(optimizer)s (η = %(rate)s) the network reads %(digit)s; the probability of %(label)s went from %(before)s to %(after)s, the loss from %(lossBefore)s to %(lossAfter)s.',
        'After %(num)s steps with %(optimizer)s (η = %(rate)s) the network reads %(digit)s; the probability of %(label)s went from %(before)s to %(after)s, the loss from %(lossBefore)s to %(lossAfter)s.', answer.steps, {
          optimizer: NAMES[answer.optimizer],
          rate: answer.rate,
          digit: best,
          label: answer.label,
          before: percent.format(answer.probabilities[answer.label]),
          after: percent.format(after[answer.label]),
          lossBefore: slot(0),
          lossAfter: slot(1),
        }),
      [number(answer.loss), number(last.loss)],
    ));
  }
  probabilityRows(document.querySelector('[data-testid=after-probabilities]'), answer.probabilities, after, answer.label);
  drawPlot();
  buildBands(bandsNode, document.querySelector('#gradient-nav'), answer);
  if (chosen) explain(chosen, { focus: false });
}

function drawPlot() {
  drawLossPlot(document.querySelector('[data-testid=loss-plot]'), document.querySelector('#plot-key'), series);
}

async function compare() {
  const digit = label();
  if (digit === null || pad.isEmpty || !learned) return;
  const kind = compareChoice.value;
  try {
    const answer = await learnRequest({ label: digit, ...settings(kind, compareRate), probe: 0, layers: 0 });
    series = [series[0], { name: `${NAMES[kind]} (η = ${answer.rate})`, losses: [answer.loss, ...answer.trajectory.map((step) => step.loss)] }];
    drawPlot();
  } catch (error) {
    showError(error);
  }
}

document.querySelectorAll('input[name=label]').forEach((input) =>
  input.addEventListener('change', () => {
    chosenLabel = Number(input.value);
    learn();
  }),
);
optimizerChoice.addEventListener('change', () => {
  rateInput.value = String(DEFAULT_RATES[optimizerChoice.value]);
});
compareChoice.addEventListener('change', () => {
  compareRate.value = String(DEFAULT_RATES[compareChoice.value]);
});
document.querySelector('[data-testid=learn-step]').addEventListener('click', () => learn());
document.querySelector('[data-testid=learn-compare]').addEventListener('click', () => compare());

// --- Choosing a gradient cell ---------------------------------------------------------------------------

function logitsName() {
  return learned.layers[learned.layers.length - 2].name;
}

function hidePanel() {
  chosen = null;
  explaining?.abort();
  panel.hidden = true;
}
panel.querySelector('.gradient-close').addEventListener('click', () => {
  const band = panel.closest('.gradient-band');
  hidePanel();
  band?.querySelector('[tabindex="0"]')?.focus();
});

/** ∂L/∂<cell> = <value>, the value a span kept whole on one line ("−8.34465 × 10⁻⁷", never "× " / "10⁻⁷"). */
function cellTitle(cell, value) {
  const symbol = { kernel: 'W', bias: 'b', gamma: 'γ', beta: 'β' }[cell.of] ?? '';
  const what = cell.of === 'output' ? `${cell.layer}[${cell.at.join(',')}]` : `${symbol}_${cell.layer}[${cell.at.join(',')}]`;
  return withNumbers(`∂L/∂${what} = ${slot(0)}`, [number(value, { digits: 6 })]);
}

async function explain(cell, { focus = true } = {}) {
  if (!learned) return;
  chosen = cell;
  const band = document.getElementById(`gradient-${cell.layer}`);
  if (band && panel.parentNode !== band) band.append(panel);
  else if (!band) document.querySelector('#gradient-bands').before(panel);
  panel.hidden = false;
  panel.dataset.state = 'pending';
  panelStatus.textContent = t('Computing…');
  explaining?.abort();
  const controller = new AbortController();
  explaining = controller;
  const { optimizer, rate } = settings();
  try {
    const url = apiUrl(page.learnExplainUrl, { label: learned.label, layer: cell.layer, of: cell.of, at: cell.at.join(','), optimizer, rate });
    const answer = await postRetrying(url, controller.signal, () => {
      panelStatus.textContent = t('The server is busy; asking again…');
    });
    if (controller.signal.aborted) return;
    panelTitle.replaceChildren(...cellTitle(cell, answer.value));
    panelStatus.textContent = '';
    const parts = [renderTerms(answer), renderUpdate(answer), renderCheck(answer)].filter(Boolean);
    if (cell.of === 'output' && learned.layers.find((layer) => layer.name === cell.layer)?.kind === 'Dense') parts.push(weightLinks(cell));
    panelBody.replaceChildren(...parts);
    panel.dataset.state = 'done';
    panel.dataset.layer = cell.layer;
    panel.dataset.of = cell.of;
    if (focus) panel.focus({ preventScroll: true });
    if (focus) panel.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    if (error.name === 'AbortError') return;
    panel.dataset.state = 'error';
    const problem = error instanceof ApiError ? describeError(error) : error.message;
    panelStatus.textContent = error.status === 503 ? t('%(problem)s Choose the cell again to retry.', { problem }) : problem;
  }
}

/** Under a dense unit's gradient: its bias and its largest weight gradient, one click away. */
function weightLinks(cell) {
  const node = element('p', 'weight-links');
  const unit = cell.at[0];
  const bias = element('button', null, t('the gradient of its bias b[%(unit)s]', { unit }));
  bias.type = 'button';
  bias.addEventListener('click', () => explain({ layer: cell.layer, of: 'bias', at: [unit] }));
  const index = learned.layers.findIndex((layer) => layer.name === cell.layer);
  const inputs = learned.layers[index - 1].shape.reduce((product, side) => product * side, 1);
  const weight = element('button', null, t('the gradient of a weight W[i, %(unit)s]', { unit }));
  weight.type = 'button';
  weight.addEventListener('click', () => explain({ layer: cell.layer, of: 'kernel', at: [Math.floor(inputs / 2), unit] }));
  node.append(element('span', null, t('Weights of this unit:')), ' ', bias, ' ', weight);
  return node;
}

bandsNode.addEventListener('click', (event) => {
  if (!learned || panel.contains(event.target)) return;
  const canvas = event.target.closest?.('canvas.map:not(.mask), canvas.strip:not(.mask)');
  if (!canvas) return;
  const cell = cellOf(canvas, event, learned);
  if (cell) explain(cell);
});

const ARROWS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
bandsNode.addEventListener('keydown', (event) => {
  if (!learned || panel.contains(event.target)) return;
  const canvas = event.target.closest?.('canvas.map:not(.mask), canvas.strip:not(.mask)');
  if (!canvas) return;
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    const cell = cellOf(canvas, null, learned);
    if (cell) explain(cell);
  } else if (event.key in ARROWS) {
    // Roving focus: a group of maps is one tab stop, the arrows walk it.
    const group = canvas.closest('.kernel-grid, .map-grid');
    if (!group) return;
    const maps = [...group.querySelectorAll('canvas.map:not(.mask)')].filter((map) => map.offsetParent !== null);
    const next = maps[maps.indexOf(canvas) + ARROWS[event.key]];
    if (next) {
      event.preventDefault();
      canvas.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }
});
