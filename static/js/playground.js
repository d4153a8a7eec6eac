// The playground: convolution with any filter, stride and padding, then pooling,
// on the seeds' own examples or on the user's drawing, with the output size
// worked out in the seeds' formula and the sum of any output cell.

import { getJson, postImage } from './lib/api.js';
import { apportion, convolve, fixed, outputSize, pad, pool, significant, toUnits, unitsText } from './lib/arithmetic.js';
import { extent, greyScale, scaleFor } from './lib/colours.js';
import { t } from './lib/i18n.js';
import { strokesToBlob } from './lib/pad.js';
import { loadDrawing } from './lib/store.js';
import { decodeKernels } from './lib/tensors.js';
import { element } from './lib/dom.js';

const page = document.body.dataset;
const $ = (selector) => document.querySelector(selector);

// The seeds' examples, exactly as printed there.
const IMAGES = {
  seed002: [[2, 2, 1, 2], [1, 1, 2, 1], [1, 2, 1, 0], [1, 0, 0, 1]],
  seed000: [[1, 2, 3], [4, 5, 6], [7, 8, 9]],
  seed000pool: [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]],
};
const KERNELS = {
  seed002: [[1, 0], [0, 1]],
  seed000: [[1, 0], [0, -1]],
  seed002edge: [[0, 0, 0], [0, 1, -1], [0, 0, 0]],
  vertical: [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
  horizontal: [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
  blur: [[1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9]],
};
const NUMBERS_UP_TO = 12; // grids up to this side show numbers; larger ones are pictures
const CELL_PX = 9; // css pixels per cell of a picture

let learned = {}; // "conv1:3" -> 5x5 weights of the served network's first convolution
let drawing = null; // the user's 28x28, 0..1
let selected = null; // [row, column] of the output cell whose sum is shown

function choice(name) {
  return document.querySelector(`input[name=${name}]:checked`).value;
}

/** Numbers as a learner reads them: whole numbers as they are, others to 3 significant figures. */
function show(value) {
  return Number.isInteger(value) ? String(value).replace('-', '−') : significant(value, 3);
}

/** "1 0\n0 -1" -> [[1, 0], [0, -1]], or an error message. */
export function parseKernel(text) {
  const rows = text
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/[\s,;]+/).filter(Boolean).map((word) => Number(word.replace('−', '-'))));
  if (!rows.length || !rows[0].length) return { error: t('Write at least one number.') };
  if (rows.some((row) => row.some((value) => !Number.isFinite(value)))) return { error: t('Only numbers, please: one row per line.') };
  if (rows.some((row) => row.length !== rows[0].length)) return { error: t('Every row needs the same count of numbers.') };
  if (rows.length > 7 || rows[0].length > 7) return { error: t('At most 7×7, please.') };
  return { kernel: rows };
}

/** Every served network's first convolution: one option per filter, grouped by network. */
async function loadLearned() {
  const group = $('#pg-learned');
  let names = [null];
  try {
    const models = await getJson(page.modelsUrl);
    names = models.models.map((model) => model.name);
  } catch {
    // No list of networks: the default one's filters still come.
  }
  // Opened from the layers page at a checkpoint of a network's training: that network's filters as they were then.
  const here = new URLSearchParams(window.location.search);
  for (const model of names) {
    try {
      const checkpoint = model && model === here.get('model') ? here.get('checkpoint') : null;
      const query = checkpoint ? { model, checkpoint } : { model };
      const url = model ? `${page.kernelsUrl}?${new URLSearchParams(query)}` : page.kernelsUrl;
      const kernels = decodeKernels(await getJson(url));
      const [name] = Object.keys(kernels);
      const kernel = kernels[name];
      for (let filter = 0; filter < kernel.filters; filter += 1) {
        const weights = [];
        for (let row = 0; row < kernel.height; row += 1) {
          const line = [];
          for (let column = 0; column < kernel.width; column += 1) line.push(kernel.weight(row, column, 0, filter));
          weights.push(line);
        }
        const key = `${model ?? ''}:${name}:${filter}`;
        learned[key] = weights;
        const source = checkpoint ? [model, checkpoint].join(' ') : model; // the network, at its checkpoint
        const option = element(
          'option',
          null,
          model
            ? t('%(model)s: %(layer)s filter #%(filter)s (%(height)s×%(width)s)', { model: source, layer: name, filter, height: kernel.height, width: kernel.width })
            : t('%(layer)s filter #%(filter)s (%(height)s×%(width)s)', { layer: name, filter, height: kernel.height, width: kernel.width }),
        );
        option.value = key;
        group.append(option);
      }
    } catch {
      // This network's filters could not be read: the others still come.
    }
  }
}

async function loadDrawingImage() {
  const strokes = loadDrawing();
  if (!strokes.length) return null;
  const answer = await postImage(page.predictUrl, await strokesToBlob(strokes));
  return answer.input.map((row) => row.map((value) => value / 255));
}

function currentKernel() {
  const which = $('#pg-kernel').value;
  $('#pg-custom-field').hidden = which !== 'custom';
  if (which === 'none') return { kernel: null };
  if (which === 'custom') return parseKernel($('#pg-custom').value);
  return { kernel: KERNELS[which] ?? learned[which] };
}

async function currentImage() {
  const which = $('#pg-image').value;
  if (which !== 'drawing') return { image: IMAGES[which] };
  drawing ??= await loadDrawingImage().catch(() => null);
  if (!drawing) return { error: t('There is no drawing yet: draw a digit on the drawing page or the layers page first.') };
  return { image: drawing };
}

/** The seeds' formula with the learner's numbers: OH = (H + 2P − FH) / S + 1 = ... */
function sizeFormula(size, window, stride, padding, letters) {
  const span = size + 2 * padding - window;
  const result = outputSize(size, window, stride, padding);
  const exact = span % stride === 0;
  const worked = `(${size} + 2·${padding} − ${window}) / ${stride} + 1`;
  // Not exact: the floor of the fraction as a learner writes it (⌊2 / 3⌋), never a float's digits (0.6666666666666666).
  const floored = `⌊${span} / ${stride}⌋ + 1 = ${Math.floor(span / stride)} + 1 = ${result}`;
  const text = `${letters.out} = (${letters.size} + 2${letters.pad} − ${letters.window}) / ${letters.stride} + 1 = ${worked} = ${exact ? result : floored}`;
  return { text, exact, result, span };
}

function numberTable(values, { padding = 0, windowBox = null, marked = null, clickable = false, testid, label }) {
  const table = element('table', 'number-grid pg-table');
  if (testid) table.dataset.testid = testid;
  table.setAttribute('aria-label', label);
  values.forEach((row, y) => {
    const tr = element('tr');
    row.forEach((value, x) => {
      const td = element('td', null, show(value));
      td.dataset.value = String(value);
      const isPadding = y < padding || x < padding || y >= values.length - padding || x >= row.length - padding;
      if (isPadding) td.classList.add('padding-cell');
      if (windowBox && y >= windowBox.top && y < windowBox.top + windowBox.size && x >= windowBox.left && x < windowBox.left + windowBox.size) {
        td.classList.add('in-window');
      }
      if (marked && marked[0] === y && marked[1] === x) td.classList.add('chosen');
      if (clickable) {
        td.tabIndex = marked ? (marked[0] === y && marked[1] === x ? 0 : -1) : y === 0 && x === 0 ? 0 : -1;
        td.dataset.row = String(y);
        td.dataset.column = String(x);
      }
      tr.append(td);
    });
    table.append(tr);
  });
  return table;
}

function picture(values, { padding = 0, windowBox = null, marked = null, clickable = false, grey = false, label }) {
  const height = values.length;
  const width = values[0].length;
  const canvas = element('canvas', 'pg-picture');
  canvas.width = width * CELL_PX;
  canvas.height = height * CELL_PX;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  const context = canvas.getContext('2d');
  const [low, high] = extent(values.flat());
  const scale = grey ? greyScale(1) : scaleFor(low, Math.max(high, Math.abs(low), 1e-6));
  values.forEach((row, y) =>
    row.forEach((value, x) => {
      const isPadding = y < padding || x < padding || y >= height - padding || x >= width - padding;
      context.fillStyle = isPadding ? '#8a8fa3' : `rgb(${scale.colour(value).join(' ')})`;
      context.fillRect(x * CELL_PX, y * CELL_PX, CELL_PX, CELL_PX);
    }),
  );
  const outline = (top, left, size, colour, lineWidth) => {
    context.strokeStyle = colour;
    context.lineWidth = lineWidth;
    context.strokeRect(left * CELL_PX + lineWidth / 2, top * CELL_PX + lineWidth / 2, size * CELL_PX - lineWidth, size * CELL_PX - lineWidth);
  };
  if (windowBox) {
    outline(windowBox.top, windowBox.left, windowBox.size, '#000', 4);
    outline(windowBox.top, windowBox.left, windowBox.size, '#ffd000', 2);
  }
  if (marked) outline(marked[0], marked[1], 1, '#00e0ff', 2);
  if (clickable) {
    canvas.tabIndex = 0;
    canvas.setAttribute('role', 'application');
    canvas.classList.add('clickable');
  }
  return canvas;
}

function grid(values, options) {
  return values.length <= NUMBERS_UP_TO && values[0].length <= NUMBERS_UP_TO ? numberTable(values, options) : picture(values, options);
}

/** "2×1 + 2×0 + 1×0 + 1×1 = 3": the sum of one output cell, adding up in the digits shown. */
function sumText(image, kernel, stride, padding, [row, column], value) {
  const padded = pad(image, padding);
  const terms = [];
  for (let a = 0; a < kernel.length; a += 1) {
    for (let b = 0; b < kernel[0].length; b += 1) terms.push([padded[row * stride + a][column * stride + b], kernel[a][b]]);
  }
  const whole = terms.every(([x, w]) => Number.isInteger(x) && Number.isInteger(w));
  const factor = (w) => (w < 0 ? `(${show(w)})` : show(w));
  if (whole) return `${terms.map(([x, w]) => `${show(x)}×${factor(w)}`).join(' + ')} = ${show(value)}`;
  const decimals = 3;
  const total = toUnits(value, decimals);
  const units = apportion(terms.map(([x, w]) => x * w * 10 ** decimals), total);
  return `${terms.map(([x, w], i) => `${show(x)}×${factor(w)} (${unitsText(units[i], decimals)})`).join(' + ')} = ${fixed(value, decimals)}`;
}

async function render() {
  const error = $('#pg-error');
  error.hidden = true;
  const { image, error: imageError } = await currentImage();
  const { kernel, error: kernelError } = currentKernel();
  if (imageError || kernelError) {
    error.textContent = imageError ?? kernelError;
    error.hidden = false;
    // Nothing stale stays on screen: the result belongs to the choices shown.
    for (const node of ['#pg-size', '#pg-sum', '#pg-input-caption', '#pg-output-caption']) $(node).textContent = '';
    for (const node of ['#pg-input', '#pg-kernel-grid', '#pg-output']) $(node).replaceChildren();
    $('#pg-pool-section').hidden = true;
    return;
  }
  const stride = Number(choice('stride'));
  const padding = kernel ? Number(choice('padding')) : 0;
  const size = image.length;
  const sizeNode = $('#pg-size');
  let output;
  if (kernel) {
    const formula = sizeFormula(size, kernel.length, stride, padding, { out: 'OH', size: 'H', pad: 'P', window: 'FH', stride: 'S' });
    sizeNode.textContent = formula.text;
    if (formula.result === null) {
      const note = t('the filter is larger than the padded image: there is no output.');
      sizeNode.textContent += ` — ${note}`;
      output = null;
    } else {
      if (!formula.exact) {
        const note = t('the stride does not divide %(span)s, so the last %(rest)s row(s) and column(s) are never reached.', {
          span: formula.span,
          rest: formula.span % stride,
        });
        sizeNode.textContent += ` — ${note}`;
      }
      output = convolve(image, kernel, stride, padding);
    }
  } else {
    sizeNode.textContent = t('No convolution: the pooling below works on the image itself.');
    output = image;
  }
  if (output && selected && (selected[0] >= output.length || selected[1] >= output[0].length)) selected = null;
  const sizeText = (values) => `${values.length}×${values[0].length}`;
  const padded = kernel ? pad(image, padding) : image;
  const windowBox = kernel && selected ? { top: selected[0] * stride, left: selected[1] * stride, size: kernel.length } : null;
  $('#pg-input-caption').textContent = padding
    ? t('Image %(size)s with padding P = %(padding)s (hatched zeros)', { size: sizeText(image), padding })
    : t('Image %(size)s', { size: sizeText(image) });
  $('#pg-input').replaceChildren(grid(padded, { padding, windowBox, grey: image === drawing, label: t('the image') }));
  $('#pg-kernel-figure').hidden = !kernel;
  if (kernel) $('#pg-kernel-grid').replaceChildren(numberTable(kernel, { testid: 'pg-kernel-grid', label: t('the filter') }));
  const sum = $('#pg-sum');
  if (output && kernel) {
    $('#pg-output-caption').textContent = t('Output %(size)s: choose a cell to see its sum', { size: sizeText(output) });
    $('#pg-output').replaceChildren(grid(output, { marked: selected, clickable: true, label: t('the output') }));
    sum.textContent = selected
      ? t('Cell (%(row)s, %(column)s): %(sum)s', { row: selected[0], column: selected[1], sum: sumText(image, kernel, stride, padding, selected, output[selected[0]][selected[1]]) })
      : '';
  } else {
    $('#pg-output-caption').textContent = '';
    $('#pg-output').replaceChildren();
    sum.textContent = '';
  }

  const pooling = choice('pooling');
  const poolSection = $('#pg-pool-section');
  poolSection.hidden = pooling === 'none' || !output;
  if (!poolSection.hidden) {
    const window = Number(choice('pool-size'));
    const formula = sizeFormula(output.length, window, window, 0, { out: 'OH', size: 'H', pad: 'P', window: 'PH', stride: 'S' });
    $('#pg-pool-size').textContent =
      (pooling === 'max'
        ? t('Max pooling %(window)s×%(window)s, stride %(window)s:', { window })
        : t('Average pooling %(window)s×%(window)s, stride %(window)s:', { window })) + ` ${formula.text}`;
    const pooled = formula.result === null ? [] : pool(output, window, window, pooling);
    $('#pg-pooled-caption').textContent = pooled.length ? t('Pooled %(size)s', { size: sizeText(pooled) }) : t('The window is larger than the map: nothing to pool.');
    $('#pg-pooled').replaceChildren(pooled.length ? grid(pooled, { label: t('the pooled map') }) : '');
  }
}

function chooseCell(row, column) {
  selected = [row, column];
  render().then(() => $(`#pg-output td[data-row="${row}"][data-column="${column}"]`)?.focus());
}

$('#pg-output').addEventListener('click', (event) => {
  const cell = event.target.closest('td[data-row]');
  if (cell) {
    chooseCell(Number(cell.dataset.row), Number(cell.dataset.column));
    return;
  }
  const canvas = event.target.closest('canvas.clickable');
  if (canvas) {
    const rect = canvas.getBoundingClientRect();
    chooseCell(
      Math.floor(((event.clientY - rect.top) / rect.height) * (canvas.height / CELL_PX)),
      Math.floor(((event.clientX - rect.left) / rect.width) * (canvas.width / CELL_PX)),
    );
  }
});
$('#pg-output').addEventListener('keydown', (event) => {
  const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
  const target = event.target;
  const [row, column] = selected ?? [0, 0];
  if (event.key === 'Enter' || event.key === ' ') {
    event.preventDefault();
    if (target.dataset.row) chooseCell(Number(target.dataset.row), Number(target.dataset.column));
    else chooseCell(row, column);
  } else if (steps) {
    event.preventDefault();
    const rows = target.closest('table')?.rows.length ?? Math.round(target.height / CELL_PX);
    const columns = target.closest('table')?.rows[0].cells.length ?? Math.round(target.width / CELL_PX);
    const from = target.dataset.row ? [Number(target.dataset.row), Number(target.dataset.column)] : [row, column];
    chooseCell(Math.min(rows - 1, Math.max(0, from[0] + steps[0])), Math.min(columns - 1, Math.max(0, from[1] + steps[1])));
  }
});

for (const control of document.querySelectorAll('.pg-controls select, .pg-controls input, .pg-controls textarea')) {
  control.addEventListener(control.tagName === 'TEXTAREA' ? 'input' : 'change', () => {
    selected = null;
    render();
  });
}

// The seed's worked example is the first thing shown: its first cell's sum, 2×1 + 2×0 + 1×0 + 1×1 = 3.
selected = [0, 0];
await loadLearned();
await render();
document.body.dataset.ready = 'true';
