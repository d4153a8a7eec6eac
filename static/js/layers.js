// The layers page: every layer of the network on the user's own drawing.

import { ApiError, describeError, getJson, postImage } from './lib/api.js';
import { Band } from './lib/bands.js';
import { connectCheckpoints } from './lib/checkpoints.js';
import { connectPad } from './lib/controls.js';
import { connectExamples } from './lib/examples.js';
import { ExplainPanel } from './lib/explainpanel.js';
import { language, t } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { apiUrl, onModelChange } from './lib/network.js';
import { Pad } from './lib/pad.js';
import { receptiveFields } from './lib/receptive.js';
import { decodeKernels, decodeLayers } from './lib/tensors.js';
import { CellTooltip, describeCell } from './lib/tooltip.js';
import { connectZoom, openZoom } from './lib/zoom.js';

const page = document.body.dataset;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const prediction = document.querySelector('[data-testid=prediction]');
const status = document.querySelector('[data-testid=status]');
const bandsNode = document.querySelector('#bands');
const emptyNode = document.querySelector('#bands-empty');
// A fresh visit offers a few examples where the layers will be: each presses its twin among the pad's examples.
emptyNode.addEventListener('click', (event) => {
  const start = event.target.closest?.('[data-start]');
  const twin = start && document.querySelector(`.examples [data-testid=example]${start.dataset.start}`);
  if (!twin) return;
  twin.click();
  twin.focus({ preventScroll: true }); // this pane is about to go: the keyboard stays with the examples
});
const tooltip = new CellTooltip(document.querySelector('#tooltip'));
const zoom = document.querySelector('#zoom');
const undoButton = document.querySelector('[data-testid=undo]');
const clearButton = document.querySelector('[data-testid=clear]');

let layers = null; // decoded outputs of the latest answer
let fields = null; // receptive field of each layer
let bands = null; // Band objects, built on the first answer
let kernelsPromise = null;
const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });
let chosen = null; // {layer, at} of the cell the panel explains
let explaining = null; // AbortController of the request in flight
const panel = new ExplainPanel({
  onChoose: (layer, at, options) => explainCell(layer, at, options),
  onEnlarge: (answer) => openZoom(zoom, layers, byName()[answer.layer], answer.at.length === 3 ? answer.at[2] : 0, kernels),
  onClose: () => {
    chosen = null;
  },
});
const byName = () => Object.fromEntries(layers.map((layer, index) => [layer.name, index]));

function kernels() {
  kernelsPromise ??= getJson(apiUrl(page.kernelsUrl)).then(decodeKernels);
  return kernelsPromise;
}

function showAnswer(answer) {
  examples.answered(answer);
  layers = decodeLayers(answer);
  fields = receptiveFields(layers);
  if (!bands) {
    const total = layers.reduce((sum, layer) => sum + layer.parameters, 0);
    bands = layers.map((layer, index) => new Band(layer, layers[index - 1], index, total));
    bandsNode.replaceChildren(...bands.map((band) => band.node));
    buildNav();
    // New bands (another network): the cell explained belonged to the old ones.
    chosen = null;
    panel.hide();
  }
  paintBands();
  bandsNode.hidden = false;
  delete bandsNode.dataset.stale;
  emptyNode.hidden = true;
  if (chosen) explainCell(chosen.layer, chosen.at, { focus: null });
  prediction.textContent = answer.digit === null ? '?' : String(answer.digit);
  status.dataset.kind = 'info';
  if (answer.digit !== null) {
    status.textContent = t('Read as %(digit)s, %(percent)s sure.', { digit: answer.digit, percent: percent.format(answer.confidence) });
  } else {
    status.textContent =
      answer.reason === 'empty'
        ? t('Too small to be a digit.')
        : answer.reason === 'not-a-digit'
          ? t('Not a digit. Yet the layers below still end in a softmax that picks %(digit)s (%(percent)s): a network trained only on the ten digits always picks one of them, unless it is taught otherwise. A second small network, taught what is not a digit, caught this one.', {
              digit: answer.probabilities.indexOf(answer.confidence),
              percent: percent.format(answer.confidence),
            })
          : t('Not sure what digit this is.');
  }
}

/** Jump links to every band, from the network's own layers. */
function buildNav() {
  const nav = document.querySelector('#band-nav');
  nav.replaceChildren(
    ...layers.map((layer) => {
      const link = document.createElement('a');
      link.href = `#band-${layer.name}`;
      link.textContent = layer.name;
      return link;
    }),
  );
  nav.hidden = false;
}

function perMap() {
  return document.querySelector('input[name=scale]:checked').value === 'map';
}

function paintBands() {
  bands.forEach((band, index) => band.update(layers[index], layers[index - 1], { perMap: perMap() }));
}

document.querySelectorAll('input[name=scale]').forEach((input) =>
  input.addEventListener('change', () => {
    if (bands && layers) paintBands();
  }),
);

function showNothing() {
  prediction.textContent = '';
  status.dataset.kind = 'info';
  if (bands) {
    // Cleared: the bands stay where they are, dimmed, so the page does not collapse under the reader.
    bandsNode.dataset.stale = 'true';
    status.textContent = t('The pad is empty: these layers show the last drawing. Ctrl+Z brings it back.');
    return;
  }
  status.textContent = t('Draw a digit to see each layer at work.');
  bandsNode.hidden = true;
  emptyNode.hidden = false;
  chosen = null;
  panel.hide();
}

function showError(error) {
  status.dataset.kind = 'error';
  status.textContent = error instanceof ApiError ? describeError(error) : error.message;
}

const examples = connectExamples(document.querySelector('.examples'), pad, { onError: showError });

const reader = new LiveReader({
  request: async (signal) => postImage(apiUrl(page.featuresUrl), await pad.toBlob(), signal),
  onAnswer: showAnswer,
  onError: (error) => {
    status.dataset.kind = 'error';
    status.textContent = t('%(problem)s Draw again to retry.', { problem: describeError(error) });
  },
  onState: (state) => {
    prediction.dataset.state = state;
  },
  interval: 400,
});

connectPad(pad, reader, { undoButton, clearButton, onEmpty: showNothing, onError: showError, keysBlocked: () => zoom.open });

// Another network: other layers, other kernels; the bands are built again from its answer.
onModelChange(() => {
  bands = null;
  kernelsPromise = null;
  explaining?.abort();
  chosen = null;
  panel.hide();
  if (pad.isEmpty) showNothing();
  else reader.changed({ final: true });
});

// Another checkpoint of the same network's training: the same bands, other weights and maps.
connectCheckpoints({
  onChange: () => {
    kernelsPromise = null;
    if (!pad.isEmpty) reader.changed({ final: true });
  },
});

// Hover: a cell's value, and the input pixels it can see.

function cellAt(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const column = Math.floor(((event.clientX - rect.left) / rect.width) * canvas.width);
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * canvas.height);
  if (row < 0 || column < 0 || row >= canvas.height || column >= canvas.width) return null;
  return { row, column };
}

bandsNode.addEventListener('pointermove', (event) => {
  const canvas = event.target.closest?.('canvas.map, canvas.strip');
  // A finger has no hover: a tap chooses a cell and the panel shows it.
  if (!canvas || !layers || event.pointerType === 'touch') {
    tooltip.hide();
    return;
  }
  const cell = cellAt(canvas, event);
  const description = cell && describeCell(layers, fields, byName()[canvas.dataset.layer], canvas, cell);
  if (description) tooltip.show(event, description, layers[0]);
  else tooltip.hide();
});
bandsNode.addEventListener('pointerleave', () => {
  tooltip.hide();
});

// Choosing a cell (click, tap, or Enter on a map): the panel shows how its number was computed.


async function explainCell(layerName, at, { focus = 'output' } = {}) {
  const index = byName()[layerName];
  if (index === undefined) return;
  chosen = { layer: layerName, at };
  const band = bands[index];
  if (panel.node.parentNode !== band.node) band.node.append(panel.node);
  panel.waiting(t('Computing…'));
  explaining?.abort();
  const controller = new AbortController();
  explaining = controller;
  try {
    const url = apiUrl(page.explainUrl, { layer: layerName, at: at.join(',') });
    const answer = await postImage(url, await pad.toBlob(), controller.signal);
    if (controller.signal.aborted) return;
    panel.show(answer, layers, index);
    if (focus === 'output') panel.focusOutput();
    else if (focus?.startsWith('step:')) panel.focusStep(focus.slice(5));
    else if (focus === 'panel') panel.node.scrollIntoView({ block: 'nearest' });
  } catch (error) {
    if (error.name === 'AbortError') return;
    panel.failed(error.message);
  }
}

function cellOf(target, event) {
  const bar = target.closest?.('.digit-bar');
  if (bar) {
    const band = bar.closest('.band');
    return { layer: band.dataset.testid.replace('band-', ''), at: [[...bar.parentNode.children].indexOf(bar)] };
  }
  const canvas = target.closest?.('canvas.map, canvas.strip');
  if (!canvas) return null;
  const layer = layers[byName()[canvas.dataset.layer]];
  if (!event) {
    // From the keyboard: the middle of the map, or the strongest unit.
    if (!layer.spatial) return { layer: layer.name, at: [layer.values.indexOf(layer.max)] };
    return { layer: layer.name, at: [layer.height >> 1, layer.width >> 1, Number(canvas.dataset.channel)] };
  }
  const cell = cellAt(canvas, event);
  if (!cell) return null;
  if (!layer.spatial) {
    const unit = cell.row * Number(canvas.dataset.columns) + cell.column;
    return unit < layer.width ? { layer: layer.name, at: [unit] } : null;
  }
  return { layer: layer.name, at: [cell.row, cell.column, Number(canvas.dataset.channel)] };
}

bandsNode.addEventListener('click', (event) => {
  if (!layers || panel.node.contains(event.target)) return;
  const cell = cellOf(event.target, event);
  if (cell) {
    tooltip.hide();
    explainCell(cell.layer, cell.at, { focus: 'panel' });
  }
});

const STEPS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

bandsNode.addEventListener('keydown', (event) => {
  if (!layers || panel.node.contains(event.target)) return;
  const target = event.target.closest?.('canvas.map, canvas.strip, .digit-bars');
  if (!target) return;
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    const cell = target.matches('.digit-bars')
      ? cellOf(target.querySelector('.digit-bar.top') ?? target.firstElementChild)
      : cellOf(target, null);
    if (cell) explainCell(cell.layer, cell.at, { focus: 'output' });
  } else if (event.key in STEPS && target.matches('canvas.map')) {
    // Roving focus: the band is one tab stop, the arrows walk its maps.
    const maps = [...target.closest('.band').querySelectorAll('canvas.map:not(.before)')].filter((map) => map.offsetParent !== null);
    const next = maps[maps.indexOf(target) + STEPS[event.key]];
    if (next) {
      event.preventDefault();
      target.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }
});
connectZoom(zoom);
