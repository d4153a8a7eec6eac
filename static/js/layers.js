// The layers page: every layer of the network on the user's own drawing.

import { describeError, getJson, postImage } from './lib/api.js';
import { Band, legend } from './lib/bands.js';
import { extent, paintHeatmap, scaleFor } from './lib/colours.js';
import { connectPad } from './lib/controls.js';
import { language, t } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { Pad } from './lib/pad.js';
import { fieldOf, receptiveFields } from './lib/receptive.js';
import { renderImage } from './lib/render.js';
import { decodeKernels, decodeLayers } from './lib/tensors.js';

const page = document.body.dataset;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const prediction = document.querySelector('[data-testid=prediction]');
const status = document.querySelector('[data-testid=status]');
const bandsNode = document.querySelector('#bands');
const emptyNode = document.querySelector('#bands-empty');
const tooltip = document.querySelector('#tooltip');
const tooltipText = tooltip.querySelector('.tooltip-text');
const tooltipInput = tooltip.querySelector('canvas');
const zoom = document.querySelector('#zoom');
const undoButton = document.querySelector('[data-testid=undo]');
const clearButton = document.querySelector('[data-testid=clear]');

let layers = null; // decoded outputs of the latest answer
let fields = null; // receptive field of each layer
let bands = null; // Band objects, built on the first answer
let kernelsPromise = null;
const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });
const byName = () => Object.fromEntries(layers.map((layer, index) => [layer.name, index]));

function kernels() {
  kernelsPromise ??= getJson(page.kernelsUrl).then(decodeKernels);
  return kernelsPromise;
}

function showAnswer(answer) {
  layers = decodeLayers(answer);
  fields = receptiveFields(layers);
  if (!bands) {
    bands = layers.map((layer, index) => new Band(layer, layers[index - 1], index));
    bandsNode.replaceChildren(...bands.map((band) => band.node));
  }
  paintBands();
  bandsNode.hidden = false;
  emptyNode.hidden = true;
  prediction.textContent = answer.digit === null ? '?' : String(answer.digit);
  status.dataset.kind = 'info';
  if (answer.digit !== null) {
    status.textContent = t('Read as %(digit)s, %(percent)s sure.', { digit: answer.digit, percent: percent.format(answer.confidence) });
  } else {
    status.textContent = answer.reason === 'empty' ? t('Too small to be a digit.') : t('Not sure what digit this is.');
  }
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
  status.textContent = t('Draw a digit to see each layer at work.');
  bandsNode.hidden = true;
  emptyNode.hidden = false;
}

const reader = new LiveReader({
  request: async (signal) => postImage(page.featuresUrl, await pad.toBlob(), signal),
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

connectPad(pad, reader, { undoButton, clearButton, onEmpty: showNothing, keysBlocked: () => zoom.open });

// Hover: a cell's value, and the input pixels it can see.

function cellAt(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const column = Math.floor(((event.clientX - rect.left) / rect.width) * canvas.width);
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * canvas.height);
  if (row < 0 || column < 0 || row >= canvas.height || column >= canvas.width) return null;
  return { row, column };
}

function describeCell(canvas, cell) {
  const index = byName()[canvas.dataset.layer];
  const layer = layers[index];
  if (!layer.spatial) {
    const unit = cell.row * Number(canvas.dataset.columns) + cell.column;
    if (unit >= layer.width) return null;
    return {
      text: t('%(layer)s · unit %(unit)s: %(value)s', { layer: layer.name, unit, value: layer.values[unit].toPrecision(4) }),
      field: null,
    };
  }
  const channel = Number(canvas.dataset.channel);
  const value = layer.value(channel, cell.row, cell.column);
  const field = fieldOf(fields[index], cell.row, cell.column);
  const numbers = { layer: layer.name, map: channel, row: cell.row, column: cell.column, value: value.toPrecision(4) };
  return {
    text:
      layer.channels > 1
        ? t('%(layer)s · map #%(map)s · row %(row)s, column %(column)s: %(value)s', numbers)
        : t('%(layer)s · row %(row)s, column %(column)s: %(value)s', numbers),
    field,
  };
}

function showTooltip(event, description) {
  tooltipText.textContent = description.text;
  renderImage(tooltipInput, layers[0] ? toRows(layers[0]) : null, { grid: false });
  const context = tooltipInput.getContext('2d');
  const cell = tooltipInput.width / 28;
  if (description.field) {
    const { top, left, height, width } = description.field;
    context.strokeStyle = '#ffd000';
    context.lineWidth = 2;
    context.strokeRect(left * cell + 1, top * cell + 1, width * cell - 2, height * cell - 2);
  }
  const field = description.field;
  tooltip.querySelector('.tooltip-field').textContent = field
    ? t('sees input rows %(top)s–%(bottom)s, columns %(left)s–%(right)s', {
        top: field.top,
        bottom: field.top + field.height - 1,
        left: field.left,
        right: field.left + field.width - 1,
      })
    : t('sees the whole input');
  tooltip.hidden = false;
  const margin = 14;
  const { innerWidth, innerHeight } = window;
  const box = tooltip.getBoundingClientRect();
  const x = Math.min(event.clientX + margin, innerWidth - box.width - 4);
  const y = event.clientY + margin + box.height > innerHeight ? event.clientY - box.height - margin : event.clientY + margin;
  tooltip.style.transform = `translate(${Math.max(4, x)}px, ${Math.max(4, y)}px)`;
}

function toRows(layer) {
  const rows = [];
  for (let row = 0; row < layer.height; row += 1) {
    rows.push(Array.from(layer.channel(0).subarray(row * layer.width, (row + 1) * layer.width), Math.round));
  }
  return rows;
}

bandsNode.addEventListener('pointermove', (event) => {
  const canvas = event.target.closest?.('canvas.map, canvas.strip');
  if (!canvas || !layers) {
    tooltip.hidden = true;
    return;
  }
  const cell = cellAt(canvas, event);
  const description = cell && describeCell(canvas, cell);
  if (description) showTooltip(event, description);
  else tooltip.hidden = true;
});
bandsNode.addEventListener('pointerleave', () => {
  tooltip.hidden = true;
});

// Click: the map enlarged, beside the filter that made it.

function convFor(index) {
  for (let at = index; at >= 0; at -= 1) {
    if (layers[at].kind === 'Conv2D') return layers[at];
    if (!layers[at].spatial) return null;
  }
  return null;
}

async function openZoom(canvas) {
  const index = byName()[canvas.dataset.layer];
  const layer = layers[index];
  if (!layer.spatial) return;
  const channel = Number(canvas.dataset.channel);
  zoom.querySelector('.zoom-title').textContent =
    layer.channels > 1 ? t('%(layer)s, map #%(map)s', { layer: layer.name, map: channel }) : layer.name;
  const big = zoom.querySelector('.zoom-map');
  const [low, high] = extent(layer.channel(channel));
  const scale = layer.kind === 'InputLayer' || layer.kind === 'Rescaling' ? scaleFor(0, high || 1) : scaleFor(low, high);
  paintHeatmap(big, layer.channel(channel), layer.width, layer.height, scale);
  zoom.querySelector('.zoom-legend').replaceChildren(legend(scale));
  big.dataset.layer = layer.name;
  big.dataset.channel = String(channel);

  const kernelNode = zoom.querySelector('.zoom-kernel');
  kernelNode.replaceChildren();
  const conv = convFor(index);
  if (conv) {
    const kernel = (await kernels())[conv.name];
    const limit = Math.max(Math.abs(kernel.min), Math.abs(kernel.max));
    const kernelScale = scaleFor(-limit, limit);
    const heading = document.createElement('p');
    heading.className = 'zoom-caption';
    const numbers = {
      map: channel,
      layer: conv.name,
      height: kernel.height,
      width: kernel.width,
      inputs: kernel.inputs,
      bias: kernel.bias[channel].toPrecision(3),
    };
    heading.textContent =
      kernel.inputs > 1
        ? t('Filter #%(map)s of %(layer)s: %(height)s×%(width)s weights for each of the %(inputs)s input maps, bias %(bias)s. Red weights reward ink under them, blue ones penalise it.', numbers)
        : t('Filter #%(map)s of %(layer)s: %(height)s×%(width)s weights, bias %(bias)s. Red weights reward ink under them, blue ones penalise it.', numbers);
    const grid = document.createElement('div');
    grid.className = kernel.inputs > 1 ? 'kernel-grid' : 'kernel-grid single';
    for (let input = 0; input < kernel.inputs; input += 1) {
      const values = new Float32Array(kernel.height * kernel.width);
      for (let row = 0; row < kernel.height; row += 1) {
        for (let column = 0; column < kernel.width; column += 1) {
          values[row * kernel.width + column] = kernel.weight(row, column, input, channel);
        }
      }
      const tile = document.createElement('canvas');
      tile.className = 'kernel';
      tile.title = kernel.inputs > 1 ? t('weights on input map #%(map)s', { map: input }) : t('weights');
      paintHeatmap(tile, values, kernel.width, kernel.height, kernelScale);
      grid.append(tile);
    }
    kernelNode.append(heading, grid);
  } else {
    const note = document.createElement('p');
    note.className = 'zoom-caption';
    note.textContent = t('No filter made this: it is the input itself.');
    kernelNode.append(note);
  }
  if (!zoom.open) zoom.showModal();
}

bandsNode.addEventListener('click', (event) => {
  const canvas = event.target.closest?.('canvas.map');
  if (canvas && layers) openZoom(canvas);
});
const STEPS = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };

bandsNode.addEventListener('keydown', (event) => {
  const canvas = event.target.closest?.('canvas.map');
  if (!canvas || !layers) return;
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    openZoom(canvas);
  } else if (event.key in STEPS) {
    // Roving focus: the band is one tab stop, the arrows walk its maps.
    const maps = [...canvas.closest('.band').querySelectorAll('canvas.map:not(.before)')];
    const next = maps[maps.indexOf(canvas) + STEPS[event.key]];
    if (next) {
      event.preventDefault();
      canvas.tabIndex = -1;
      next.tabIndex = 0;
      next.focus();
    }
  }
});
zoom.querySelector('.zoom-close').addEventListener('click', () => zoom.close());
zoom.addEventListener('click', (event) => {
  if (event.target === zoom) zoom.close(); // a click on the backdrop
});
