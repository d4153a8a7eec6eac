// The "why" page: which pixels made each network's reading, by five attribution methods, every
// served network side by side on the same drawing; the gate's explanation when it is no digit.

import { ApiError, describeError, postImage } from './lib/api.js';
import { renderCell } from './lib/attributioncell.js';
import { connectPad } from './lib/controls.js';
import { connectExamples } from './lib/examples.js';
import { CELL, cellAt, formatPrecise, formatValue, largest, paintMap, renderKey } from './lib/heatmap.js';
import { language, t } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { chosenModel, onModelChange } from './lib/network.js';
import { Pad } from './lib/pad.js';

const page = document.body.dataset;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const prediction = document.querySelector('[data-testid=prediction]');
const status = document.querySelector('[data-testid=status]');
const mapsNode = document.querySelector('#why-maps');
const emptyNode = document.querySelector('#why-empty');
const gateSection = document.querySelector('[data-testid=gate-explanation]');
const gateMaps = document.querySelector('#gate-maps');
const cellPanel = document.querySelector('[data-testid=attribution-cell]');
const undoButton = document.querySelector('[data-testid=undo]');
const clearButton = document.querySelector('[data-testid=clear]');

const METHODS = [...document.querySelectorAll('input[name=method]')].map((input) => input.value);
const GATE = '_gate'; // the gate's card: its map explains the not-a-digit score
const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });

const cards = new Map([...mapsNode.querySelectorAll('.why-map')].map((card) => [card.dataset.model, card]));
let answers = new Map(); // model (or GATE) -> the latest answer
let blob = null; // the PNG the latest answers are for
let chosen = null; // {model, row, column}: the cell whose numbers are shown
let cellRequest = null;
let gateRequest = null;

// --- What to explain: method and target, in the URL too ---------------------------------------

const query = new URLSearchParams(location.search);
let method = METHODS.includes(query.get('method')) ? query.get('method') : METHODS[0];
let target = /^\d$/.test(query.get('target') ?? '') ? query.get('target') : '';
document.querySelector(`input[name=method][value="${method}"]`).checked = true;
document.querySelector(`input[name=target][value="${target}"]`).checked = true;
showExplanation();

function keepInUrl() {
  const url = new URL(location.href);
  url.searchParams.set('method', method);
  if (target === '') url.searchParams.delete('target');
  else url.searchParams.set('target', target);
  history.replaceState(history.state, '', url);
}

function showExplanation() {
  for (const paragraph of document.querySelectorAll('[data-testid=method-explanation] [data-method]')) {
    paragraph.hidden = paragraph.dataset.method !== method;
  }
}

document.querySelector('[data-testid=method]').addEventListener('change', (event) => {
  method = event.target.value;
  showExplanation();
  keepInUrl();
  explainAgain();
});
document.querySelector('[data-testid=target]').addEventListener('change', (event) => {
  target = event.target.value;
  keepInUrl();
  explainAgain();
});

function explainAgain() {
  if (!pad.isEmpty) finishedDrawings.changed({ final: true });
}

function attributionUrl(model, extra = {}) {
  const url = new URL(page.attributionUrl, location.href);
  url.searchParams.set('model', model === GATE ? chosenModel() : model);
  url.searchParams.set('method', method);
  if (model === GATE) url.searchParams.set('of', 'gate');
  else if (target !== '') url.searchParams.set('target', target);
  for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, String(value));
  return url.pathname + url.search;
}

// --- The maps ------------------------------------------------------------------------------------

function cardOf(model) {
  return model === GATE ? gateMaps.querySelector('.why-map') : cards.get(model);
}

/** The gate's card, made once from a network's card. */
function gateCard() {
  let card = gateMaps.querySelector('.why-map');
  if (!card) {
    card = cards.values().next().value.cloneNode(true);
    card.dataset.model = GATE;
    card.dataset.inputSize = '28';
    card.querySelector('strong').textContent = t('the gate');
    card.querySelector('canvas').setAttribute('aria-label', t('attribution map of the gate’s not-a-digit score; arrow keys move, Enter shows the numbers of a cell'));
    gateMaps.append(card);
    connectCard(card);
  }
  return card;
}

function inputOf(answer) {
  return answer.of === 'gate' ? answer.gate_input : answer.input;
}

function paintCard(model) {
  const card = cardOf(model);
  const answer = answers.get(model);
  if (!card || !answer) return;
  const canvas = card.querySelector('canvas');
  const key = card.querySelector('[data-role=key]');
  // A network the method cannot explain (Grad-CAM and no convolution): its reading, no map.
  card.dataset.unavailable = answer.error ? answer.error.code : '';
  canvas.hidden = key.hidden = Boolean(answer.error);
  if (answer.error) return;
  const limit = largest(answer.map);
  const marked = chosen?.model === model ? chosen : null;
  paintMap(canvas, inputOf(answer), answer.map, { limit, cursor: canvas.cursor ?? null, marked });
  renderKey(card.querySelector('[data-role=key]'), limit, { signed: answer.method !== 'grad-cam' });
}

// Why a network has no map for the chosen method (the server's code; its English message otherwise).
const UNEXPLAINED = {
  'no-convolution': () => t('This network has no convolution, so Grad-CAM has no maps to weigh; the other methods explain it.'),
};

function describeCard(model) {
  const card = cardOf(model);
  const answer = answers.get(model);
  const reading = card.querySelector('[data-role=reading]');
  const note = card.querySelector('[data-role=note]');
  card.dataset.method = answer.method;
  card.dataset.target = String(answer.target);
  if (answer.error) {
    reading.textContent = answer.digit === null ? t('no digit') : t('reads %(digit)s', { digit: answer.digit });
    note.replaceChildren(UNEXPLAINED[answer.error.code] ? UNEXPLAINED[answer.error.code]() : answer.error.message);
    return;
  }
  if (model === GATE) {
    reading.textContent = t('not a digit: %(percent)s', { percent: percent.format(answer.probability) });
  } else {
    const read = answer.digit === null ? t('no digit') : t('reads %(digit)s', { digit: answer.digit });
    const why = t('why %(target)s (%(percent)s)', { target: answer.target, percent: percent.format(answer.probability) });
    reading.textContent = [read, why].join(' · ');
  }
  const parts = [t('score (logit) %(score)s', { score: formatValue(answer.logit) })];
  note.replaceChildren();
  if (answer.method === 'integrated-gradients') {
    const { sum, difference, steps } = answer.completeness;
    const check = document.createElement('span');
    check.dataset.testid = 'completeness';
    check.className = 'why-completeness';
    check.textContent = t('Σ map = %(sum)s · score(drawing) − score(blank) = %(difference)s · %(steps)s steps', {
      sum: formatPrecise(sum), difference: formatPrecise(difference), steps,
    });
    note.append(parts.join(' · '), document.createElement('br'), check);
  } else if (answer.method === 'grad-cam') {
    const { layer, weights } = answer.grad_cam;
    const details = document.createElement('details');
    const summary = document.createElement('summary');
    summary.textContent = t('the weights of the %(count)s maps of %(layer)s', { count: weights.length, layer });
    const list = document.createElement('ol');
    list.className = 'why-weights';
    list.start = 0;
    for (const weight of weights) {
      const item = document.createElement('li');
      item.textContent = formatValue(weight);
      list.append(item);
    }
    details.append(summary, list);
    note.append(parts.join(' · '), details);
  } else if (answer.method === 'occlusion') {
    const { patch, passes } = answer.occlusion;
    parts.push(t('%(patch)s×%(patch)s patches, %(passes)s forward passes', { patch, passes }));
    note.append(parts.join(' · '));
  } else {
    note.append(parts.join(' · '));
  }
}

function showAnswers(list) {
  answers = new Map(list.filter((answer) => cards.has(answer.model)).map((answer) => [answer.model, answer]));
  mapsNode.dataset.method = method;
  for (const model of cards.keys()) {
    describeCard(model);
    paintCard(model);
  }
  mapsNode.hidden = false;
  emptyNode.hidden = true;
  showReading(answers.get(chosenModel()));
  examples.answered(answers.get(chosenModel()));
  showExampleNote();
  if (answers.get(chosenModel()).reason === 'not-a-digit') explainGate();
  else hideGate();
  if (chosen && (chosen.model !== GATE || !gateSection.hidden)) chooseCell(chosen.model, chosen.row, chosen.column, { focus: false });
  else hideCell();
}

// The side panel scrolls on its own when it is taller than the window (1280 x 900): the note an example
// brings (its label, or why it is a case worth a look) appears under the buttons, out of sight, unless
// the panel is scrolled to it once, when it is new.
const exampleNote = document.querySelector('[data-testid=example-label]');
let shownNote = '';

function showExampleNote() {
  const text = exampleNote && !exampleNote.hidden ? exampleNote.textContent : '';
  if (text && text !== shownNote) exampleNote.scrollIntoView({ block: 'nearest' });
  shownNote = text;
}

function showReading(answer) {
  markChosen();
  status.dataset.kind = 'info';
  prediction.textContent = answer.digit === null ? '?' : String(answer.digit);
  if (answer.digit !== null) {
    status.textContent = t('Read as %(digit)s, %(percent)s sure.', { digit: answer.digit, percent: percent.format(answer.confidence) });
  } else if (answer.reason === 'empty') {
    status.textContent = t('Too small to be a digit.');
  } else if (answer.reason === 'not-a-digit') {
    status.textContent = t('Not a digit, says the gate. “Why not a digit?” below shows which pixels made it say so.');
  } else {
    status.textContent = t('Not sure what digit this is.');
  }
}

function markChosen() {
  for (const [model, card] of cards) {
    if (model === chosenModel()) card.setAttribute('aria-current', 'true');
    else card.removeAttribute('aria-current');
  }
}

async function explainGate() {
  gateRequest?.abort();
  const controller = new AbortController();
  gateRequest = controller;
  const card = gateCard();
  gateSection.hidden = false;
  gateSection.dataset.state = 'pending';
  try {
    const answer = await postImage(attributionUrl(GATE), blob, controller.signal);
    if (controller.signal.aborted) return;
    answers.set(GATE, answer);
    describeCard(GATE);
    paintCard(GATE);
    card.hidden = false;
    gateSection.dataset.state = 'done';
  } catch (error) {
    if (error.name === 'AbortError') return;
    // "Busy": the server asks to come back in a second (as the maps' request does), not an answer to show.
    if (error.code === 'busy') {
      setTimeout(() => { if (gateRequest === controller && !gateSection.hidden) explainGate(); }, RETRY_MS);
      return;
    }
    showError(error);
  }
}

function hideGate() {
  gateRequest?.abort();
  gateSection.hidden = true;
  answers.delete(GATE);
  if (chosen?.model === GATE) chosen = null;
}

function showNothing() {
  prediction.textContent = '';
  status.dataset.kind = 'info';
  status.textContent = t('Draw a digit to see which pixels made each reading.');
  mapsNode.hidden = true;
  emptyNode.hidden = false;
  hideGate();
  hideCell();
  chosen = null;
  answers = new Map();
}

function showError(error) {
  status.dataset.kind = 'error';
  status.textContent = error instanceof ApiError ? describeError(error) : error.message;
}

// --- A heat cell's numbers: click, tap or keyboard -------------------------------------------------

function hideCell() {
  cellRequest?.abort();
  cellPanel.hidden = true;
  delete cellPanel.dataset.state;
}

async function chooseCell(model, row, column, { focus = true } = {}) {
  if (!answers.has(model) || answers.get(model).error || !blob) return;
  const previous = chosen?.model;
  chosen = { model, row, column };
  paintCard(model);
  if (previous && previous !== model) paintCard(previous);
  cellRequest?.abort();
  const controller = new AbortController();
  cellRequest = controller;
  cellPanel.hidden = false;
  cellPanel.dataset.state = 'pending';
  cellPanel.dataset.model = model;
  cellPanel.dataset.at = `${row},${column}`;
  try {
    const answer = await postImage(attributionUrl(model, { at: `${row},${column}` }), blob, controller.signal);
    if (controller.signal.aborted) return;
    const name = model === GATE ? t('the gate') : model;
    renderCell(cellPanel.querySelector('.why-cell-title'), cellPanel.querySelector('.why-cell-body'), answer, name);
    cellPanel.dataset.method = answer.method;
    cellPanel.dataset.state = 'done';
    if (focus && !isVisible(cellPanel)) cellPanel.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
  } catch (error) {
    if (error.name !== 'AbortError') showError(error);
  }
}

function isVisible(node) {
  const box = node.getBoundingClientRect();
  return box.top >= 0 && box.bottom <= window.innerHeight;
}

const MOVES = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };

function connectCard(card) {
  const canvas = card.querySelector('canvas');
  const model = () => card.dataset.model;
  canvas.addEventListener('click', (event) => {
    const cell = cellAt(canvas, event);
    if (!cell) return;
    canvas.cursor = cell;
    chooseCell(model(), cell.row, cell.column);
  });
  canvas.addEventListener('focus', () => {
    if (!answers.has(model())) return;
    const size = canvas.width / CELL;
    canvas.cursor ??= chosen?.model === model() ? { row: chosen.row, column: chosen.column } : { row: size >> 1, column: size >> 1 };
    paintCard(model());
  });
  canvas.addEventListener('blur', () => {
    canvas.cursor = null;
    paintCard(model());
  });
  canvas.addEventListener('keydown', (event) => {
    if (!answers.has(model()) || event.altKey || event.ctrlKey || event.metaKey) return;
    const size = canvas.width / CELL;
    const cursor = canvas.cursor ?? { row: size >> 1, column: size >> 1 };
    if (MOVES[event.key]) {
      event.preventDefault();
      const [down, right] = MOVES[event.key];
      const step = event.shiftKey ? 4 : 1;
      canvas.cursor = {
        row: Math.min(size - 1, Math.max(0, cursor.row + down * step)),
        column: Math.min(size - 1, Math.max(0, cursor.column + right * step)),
      };
      paintCard(model());
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      canvas.cursor = cursor;
      chooseCell(model(), cursor.row, cursor.column, { focus: false });
    }
  });
}

for (const card of cards.values()) connectCard(card);

// --- Reading the drawing -----------------------------------------------------------------------

const examples = connectExamples(document.querySelector('.examples'), pad, { onError: showError });

// Each answer costs the server every network's passes (Integrated Gradients: 65 backward passes
// each), so the page asks once a drawing is finished, not while a stroke is drawn; strokes in
// quick succession make one request; and "busy" is retried after the second the server asks for.
const SETTLE_MS = 250;
const RETRY_MS = 1000;
let retrying = false;

const reader = new LiveReader({
  // One request for every network (compare=1): the server decodes the drawing once and runs them in turn.
  request: async (signal) => {
    const png = await pad.toBlob();
    const answer = await postImage(attributionUrl(chosenModel(), { compare: 1 }), png, signal);
    blob = png;
    return answer.compare;
  },
  onAnswer: (list) => showAnswers(list),
  onError: (error, { latest }) => {
    if (error.code === 'busy' && latest) {
      retrying = true;
      setTimeout(() => {
        retrying = false;
        if (pad.isEmpty) prediction.dataset.state = mapsNode.dataset.state = 'done';
        else reader.changed({ final: true });
      }, RETRY_MS);
      return;
    }
    status.dataset.kind = 'error';
    status.textContent = t('%(problem)s Draw again to retry.', { problem: describeError(error) });
  },
  onState: (state) => {
    if (state === 'done' && retrying) return;
    prediction.dataset.state = state;
    mapsNode.dataset.state = state;
  },
});

let settling = null;
const finishedDrawings = {
  changed({ final = false } = {}) {
    if (!final) return; // while a stroke is drawn: nothing yet
    prediction.dataset.state = 'pending';
    mapsNode.dataset.state = 'pending';
    clearTimeout(settling);
    settling = setTimeout(() => reader.changed({ final: true }), SETTLE_MS);
  },
  reset() {
    clearTimeout(settling);
    reader.reset();
  },
};

connectPad(pad, finishedDrawings, { undoButton, clearButton, onEmpty: showNothing, onError: showError });

onModelChange(() => {
  const answer = answers.get(chosenModel());
  if (!answer) return;
  showReading(answer);
  if (answer.reason === 'not-a-digit') explainGate();
  else hideGate();
});
keepInUrl();
markChosen();
