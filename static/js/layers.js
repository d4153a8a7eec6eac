// The layers page: every layer of the network on the user's own drawing.

import { ApiError, describeError, getJson, postImage } from './lib/api.js';
import { Band, legend } from './lib/bands.js';
import { extent, paintHeatmap, scaleFor } from './lib/colours.js';
import { connectPad } from './lib/controls.js';
import { connectExamples } from './lib/examples.js';
import { ExplainPanel } from './lib/explainpanel.js';
import { language, t } from './lib/i18n.js';
import { LiveReader } from './lib/live.js';
import { apiUrl, onModelChange } from './lib/network.js';
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
let chosen = null; // {layer, at} of the cell the panel explains
let explaining = null; // AbortController of the request in flight
const panel = new ExplainPanel({
  onChoose: (layer, at, options) => explainCell(layer, at, options),
  onEnlarge: (answer) => openZoom(answer.layer, answer.at.length === 3 ? answer.at[2] : 0),
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

// Hover: a cell's value, and the input pixels it can see.

function cellAt(canvas, event) {
  const rect = canvas.getBoundingClientRect();
  const column = Math.floor(((event.clientX - rect.left) / rect.width) * canvas.width);
  const row = Math.floor(((event.clientY - rect.top) / rect.height) * canvas.height);
  if (row < 0 || column < 0 || row >= canvas.height || column >= canvas.width) return null;
  return { row, column };
}

/**
 * A value from /api/features is 8-bit: within half a step of the truth. Show
 * it with the decimals that step supports, as "≈"; the panel has it exact.
 */
function approximate(layer, channel, value) {
  const step = (layer.channelMax[channel] - layer.channelMin[channel]) / 255;
  const decimals = step > 0 ? Math.min(6, Math.max(0, Math.ceil(-Math.log10(step)))) : 0;
  return `≈ ${value.toFixed(decimals).replace('-', '−')}`;
}

function describeCell(canvas, cell) {
  const index = byName()[canvas.dataset.layer];
  const layer = layers[index];
  if (!layer.spatial) {
    const unit = cell.row * Number(canvas.dataset.columns) + cell.column;
    if (unit >= layer.width) return null;
    const text = t('%(layer)s · unit %(unit)s: %(value)s', { layer: layer.name, unit, value: approximate(layer, 0, layer.values[unit]) });
    const previous = layers[index - 1];
    if (layer.kind === 'Flatten' && previous?.spatial) {
      // Entry i of a flatten is one cell of the maps before it: it sees that cell's field.
      const channel = unit % previous.channels;
      const place = Math.floor(unit / previous.channels);
      const row = Math.floor(place / previous.width);
      const column = place % previous.width;
      return {
        text,
        source: t('= %(layer)s, row %(row)s, column %(column)s, map #%(channel)s', { layer: previous.name, row, column, channel }),
        field: fieldOf(fields[index - 1], row, column, layers[0].height),
      };
    }
    return { text, field: null };
  }
  const channel = Number(canvas.dataset.channel);
  const value = layer.value(channel, cell.row, cell.column);
  const field = fieldOf(fields[index], cell.row, cell.column, layers[0].height);
  const numbers = { layer: layer.name, map: channel, row: cell.row, column: cell.column, value: approximate(layer, channel, value) };
  return {
    text:
      layer.channels > 1
        ? t('%(layer)s · map #%(map)s · row %(row)s, column %(column)s: %(value)s', numbers)
        : t('%(layer)s · row %(row)s, column %(column)s: %(value)s', numbers),
    field,
  };
}

function showTooltip(event, description) {
  tooltipText.textContent = description.source ? `${description.text} ${description.source}` : description.text;
  renderImage(tooltipInput, layers[0] ? toRows(layers[0]) : null, { grid: false });
  const context = tooltipInput.getContext('2d');
  const cell = tooltipInput.width / layers[0].height;
  if (description.field) {
    const { top, left, height, width } = description.field;
    context.strokeStyle = '#ffd000';
    context.lineWidth = 2;
    context.strokeRect(left * cell + 1, top * cell + 1, width * cell - 2, height * cell - 2);
  }
  tooltip.querySelector('.tooltip-field').textContent = description.field
    ? t('sees input rows %(top)s–%(bottom)s, columns %(left)s–%(right)s; click for the exact value and how it was computed', {
        top: description.field.top,
        bottom: description.field.top + description.field.height - 1,
        left: description.field.left,
        right: description.field.left + description.field.width - 1,
      })
    : t('sees the whole input; click for the exact value and how it was computed');
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
  // A finger has no hover: a tap chooses a cell and the panel shows it.
  if (!canvas || !layers || event.pointerType === 'touch') {
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
    tooltip.hidden = true;
    explainCell(cell.layer, cell.at, { focus: 'panel' });
  }
});

// Click: the map enlarged, beside the filter that made it.

function convFor(index) {
  for (let at = index; at >= 0; at -= 1) {
    if (layers[at].kind === 'Conv2D') return layers[at];
    if (!layers[at].spatial) return null;
  }
  return null;
}

function weightGrid(kernel, input, filter, scale) {
  const table = document.createElement('table');
  table.className = 'number-grid weights-grid';
  table.setAttribute('aria-label', t('weights on input map #%(input)s', { input }));
  for (let row = 0; row < kernel.height; row += 1) {
    const tr = document.createElement('tr');
    for (let column = 0; column < kernel.width; column += 1) {
      const weight = kernel.weight(row, column, input, filter);
      const td = document.createElement('td');
      const [red, green, blue] = scale.colour(weight);
      td.style.backgroundColor = `rgb(${red} ${green} ${blue})`;
      // Dark text on the light middle of the scale, light text on its strong ends.
      td.style.color = red * 0.3 + green * 0.59 + blue * 0.11 > 140 ? '#111' : '#fff';
      td.textContent = weight.toPrecision(3).replace('-', '−');
      td.title = String(weight);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

async function openZoom(layerName, channel) {
  const index = byName()[layerName];
  const layer = layers[index];
  if (!layer.spatial) return;
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
    const readsImage = layers[byName()[conv.name] - 1].kind === 'Rescaling' || layers[byName()[conv.name] - 1].kind === 'InputLayer';
    const heading = document.createElement('p');
    heading.className = 'zoom-caption';
    heading.textContent =
      (kernel.inputs > 1
        ? t('Filter #%(filter)s of %(layer)s: %(height)s×%(width)s weights for each of the %(inputs)s input maps, bias %(bias)s.', {
            filter: channel, layer: conv.name, height: kernel.height, width: kernel.width, inputs: kernel.inputs, bias: kernel.bias[channel].toPrecision(3),
          })
        : t('Filter #%(filter)s of %(layer)s: %(height)s×%(width)s weights, bias %(bias)s.', {
            filter: channel, layer: conv.name, height: kernel.height, width: kernel.width, bias: kernel.bias[channel].toPrecision(3),
          })) +
      ' ' +
      (readsImage
        ? t('Red weights reward ink under them, blue ones penalise it.')
        : t('It reads the maps of the layer before, not the ink: red weights add where an input map is high, blue ones subtract.'));
    const key = legend(kernelScale);
    key.classList.add('kernel-legend');
    key.setAttribute('aria-label', t('colour key of the weights: blue negative, white 0, red positive'));
    if (kernel.inputs === 1) {
      kernelNode.append(heading, weightGrid(kernel, 0, channel, kernelScale), key);
    } else {
      // One labelled tile per input map; the chosen tile's numbers below.
      const grid = document.createElement('div');
      grid.className = 'kernel-grid';
      const numbers = document.createElement('div');
      numbers.className = 'kernel-numbers';
      const showNumbers = (input) => {
        const caption = document.createElement('p');
        caption.className = 'zoom-caption';
        caption.textContent = t('Weights on input map #%(input)s:', { input });
        numbers.replaceChildren(caption, weightGrid(kernel, input, channel, kernelScale));
        grid.querySelectorAll('button').forEach((button) => button.setAttribute('aria-pressed', String(Number(button.dataset.input) === input)));
      };
      let strongest = 0;
      let strongestWeight = -1;
      for (let input = 0; input < kernel.inputs; input += 1) {
        const values = new Float32Array(kernel.height * kernel.width);
        let total = 0;
        for (let row = 0; row < kernel.height; row += 1) {
          for (let column = 0; column < kernel.width; column += 1) {
            values[row * kernel.width + column] = kernel.weight(row, column, input, channel);
            total += Math.abs(values[row * kernel.width + column]);
          }
        }
        if (total > strongestWeight) {
          strongestWeight = total;
          strongest = input;
        }
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'kernel-tile';
        button.dataset.input = String(input);
        button.setAttribute('aria-label', t('weights on input map #%(input)s', { input }));
        const tile = document.createElement('canvas');
        tile.className = 'kernel';
        tile.title = t('weights on input map #%(input)s', { input });
        paintHeatmap(tile, values, kernel.width, kernel.height, kernelScale);
        const label = document.createElement('span');
        label.textContent = `#${input}`;
        button.append(tile, label);
        button.addEventListener('click', () => showNumbers(input));
        grid.append(button);
      }
      kernelNode.append(heading, key, grid, numbers);
      showNumbers(strongest);
    }
  } else {
    const note = document.createElement('p');
    note.className = 'zoom-caption';
    note.textContent = t('No filter made this: it is the input itself.');
    kernelNode.append(note);
  }
  if (!zoom.open) zoom.showModal();
}

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
zoom.querySelector('.zoom-close').addEventListener('click', () => zoom.close());
zoom.addEventListener('click', (event) => {
  if (event.target === zoom) zoom.close(); // a click on the backdrop
});
