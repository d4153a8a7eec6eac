// The gradient bands: ∂L/∂(output) of every layer as maps or strips, from the loss back to the input,
// mirroring the layers page; ReLU's mask and max pooling's routing beside their maps; the weight
// gradients of each convolution (one tile per filter) and each layer's bias gradient.

import { greyScale, paintHeatmap, scaleFor } from '../colours.js';
import { t } from '../i18n.js';
import { element, number, sentence, slot } from './format.js';

const MAPS_SHOWN = 8;
const STRIP_COLUMNS = 32;

function bytesFromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/**
 * An array the API encoded as /api/features encodes layers (uint8 per channel, the last axis the
 * channel), decoded into C order: {shape, values, at(...indices)}.
 */
export function decodeArray(entry) {
  const { shape } = entry;
  const bytes = bytesFromBase64(entry.data);
  const channels = shape.length > 1 ? shape[shape.length - 1] : 1;
  const size = bytes.length / channels;
  const values = new Float32Array(bytes.length);
  for (let channel = 0; channel < channels; channel += 1) {
    const low = entry.min[channel];
    const step = (entry.max[channel] - low) / 255;
    for (let index = 0; index < size; index += 1) values[index * channels + channel] = low + bytes[channel * size + index] * step;
  }
  let limit = 0;
  for (const value of values) limit = Math.max(limit, Math.abs(value));
  const strides = shape.map((_, axis) => shape.slice(axis + 1).reduce((product, side) => product * side, 1));
  return { shape, values, limit, at: (...indices) => values[indices.reduce((sum, index, axis) => sum + index * strides[axis], 0)] };
}

/** The values of channel `c` of an (H, W, C) array, row by row. */
function plane(array, channel) {
  const [height, width, channels] = array.shape;
  const values = new Float32Array(height * width);
  for (let index = 0; index < height * width; index += 1) values[index] = array.values[index * channels + channel];
  return values;
}

export function signedScale(limit) {
  const bound = limit > 0 ? limit : 1;
  return scaleFor(-bound, bound);
}

/** The colour key: blue negative, white 0, red positive. */
export function gradientKey() {
  const scale = signedScale(1);
  const node = element('div', 'legend');
  const bar = element('span', 'legend-bar');
  bar.style.backgroundImage = scale.css;
  node.append(
    element('span', 'legend-value', t('− (lowers the loss)')),
    bar,
    element('span', 'legend-value', t('+ (raises the loss)')),
    element('span', 'legend-note', t('white = 0; each layer scaled to its own largest |gradient|; on the ReLU and pooling maps, white marks where the gradient passes')),
  );
  node.setAttribute('aria-label', t('colour key: blue negative, white 0, red positive'));
  return node;
}

function mapCanvas(values, width, height, scale, data, label) {
  const canvas = element('canvas', 'map');
  paintHeatmap(canvas, values, width, height, scale);
  Object.assign(canvas.dataset, data);
  canvas.tabIndex = -1;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return canvas;
}

function stripCanvas(values, scale, data, label) {
  const columns = Math.min(STRIP_COLUMNS, values.length);
  const rows = Math.ceil(values.length / columns);
  const padded = new Float32Array(columns * rows);
  padded.set(values);
  const canvas = element('canvas', 'strip');
  paintHeatmap(canvas, padded, columns, rows, scale);
  canvas.style.width = `${Math.min(columns * 11, 352)}px`;
  Object.assign(canvas.dataset, { ...data, columns: String(columns), count: String(values.length) });
  canvas.tabIndex = -1;
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', label);
  return canvas;
}

function kindText(layer) {
  switch (layer.kind) {
    case 'Softmax':
      return t('∂L/∂y: only the label’s probability is in the loss, so only its cell is not 0 (−1 / y).');
    case 'Dense':
      return t('∂L/∂(scores): a dense layer. Below, its bias gradient (= δ); its weight gradient is input × δ (choose a unit to see it).');
    case 'ReLU':
      return t('∂L/∂(ReLU output), beside ReLU’s mask: white where its input was positive (the gradient passes), black where it was not (the gradient stops).');
    case 'MaxPooling2D':
      return t('∂L/∂(pooled maps), beside the routing: white marks the one cell of each window that was kept; only it receives the window’s gradient.');
    case 'Conv2D':
      return t('∂L/∂(convolution output). Below, the gradient of its filters’ weights (Σ input window × δ), one tile per filter, and of their biases (Σ δ).');
    case 'Flatten':
      return t('∂L/∂(flat vector): the maps’ gradients in a row.');
    case 'Dropout':
      return t('∂L/∂(dropout output): dropout drops nothing during these steps, so the gradient passes unchanged.');
    case 'Rescaling':
      return t('∂L/∂(pixels in 0..1).');
    case 'BatchNormalization':
      return t('∂L/∂(normalised maps). Below, the gradients of its scale γ (Σ x̂ × δ) and shift β (Σ δ), one per channel; its mean and variance are constants here and learn nothing.');
    case 'InputLayer':
      return t('∂L/∂(pixel), the drawing in 0..255 units: where more ink (red: less) would raise the loss.');
    default:
      return t('∂L/∂(output of this layer).');
  }
}

/** One band per layer, the loss's end first. `onChoose({layer, of, at}, focus)` when a cell is chosen. */
export function buildBands(container, nav, answer) {
  const bands = [];
  const layers = answer.layers;
  for (let index = layers.length - 1; index >= 0; index -= 1) {
    const layer = layers[index];
    const band = element('section', 'gradient-band');
    band.id = `gradient-${layer.name}`;
    band.dataset.kind = layer.kind;
    band.dataset.testid = `gradient-band-${layer.name}`;
    const title = element('h3', 'band-title');
    title.append(element('span', 'band-index', String(index)), element('span', null, layer.name), element('span', 'band-kind', `${layer.kind} · ${layer.shape.join('×')}`));
    band.append(title, element('p', 'band-text', kindText(layer)));
    const gradient = decodeArray(layer.output_gradient);
    const scale = signedScale(gradient.limit);
    const extra = layer.mask ?? layer.routes;
    const body = element('div', 'band-body');
    if (layer.shape.length === 3) {
      const [height, width, channels] = layer.shape;
      const grid = element('div', extra ? 'map-grid pairs overview' : 'map-grid overview');
      const second = extra ? decodeArray(extra) : null;
      for (let channel = 0; channel < channels; channel += 1) {
        const figure = element('figure', extra ? 'pair' : 'map-figure');
        const label = t('∂L/∂ %(layer)s, map #%(map)s', { layer: layer.name, map: channel });
        const canvas = mapCanvas(plane(gradient, channel), width, height, scale, { layer: layer.name, of: 'output', channel: String(channel) }, label);
        if (channel === 0) canvas.tabIndex = 0;
        figure.append(canvas);
        if (second) {
          const [extraHeight, extraWidth] = second.shape;
          const mask = element('canvas', 'map mask');
          paintHeatmap(mask, plane(second, channel), extraWidth, extraHeight, greyScale(1));
          mask.setAttribute('aria-hidden', 'true');
          figure.append(mask);
        }
        figure.append(element('figcaption', null, `#${channel}`));
        grid.append(figure);
      }
      body.append(grid);
      if (channels > MAPS_SHOWN) {
        const more = element('button', 'show-all', t('Show all %(count)s maps', { count: channels }));
        more.type = 'button';
        more.addEventListener('click', () => {
          grid.classList.toggle('overview');
          more.textContent = grid.classList.contains('overview') ? t('Show all %(count)s maps', { count: channels }) : t('Show fewer maps');
        });
        body.append(more);
      }
    } else {
      const canvas = stripCanvas(gradient.values, scale, { layer: layer.name, of: 'output' }, t('∂L/∂ %(layer)s, %(count)s values', { layer: layer.name, count: gradient.values.length }));
      canvas.tabIndex = 0;
      body.append(canvas);
      if (extra) {
        // A dense ReLU's mask, as a second strip under its gradient, cell for cell.
        const mask = stripCanvas(decodeArray(extra).values, greyScale(1), {}, '');
        mask.classList.add('mask');
        mask.removeAttribute('role');
        mask.removeAttribute('tabindex');
        mask.setAttribute('aria-hidden', 'true');
        body.append(mask);
      }
    }
    if (layer.weight_gradient) body.append(layer.kind === 'BatchNormalization' ? normalisationGradients(layer) : weightGradients(layer));
    band.append(body);
    bands.push(band);
  }
  container.replaceChildren(...bands);
  nav.replaceChildren(
    ...bands.map((band) => {
      const link = element('a', null, band.id.replace('gradient-', ''));
      link.href = `#${band.id}`;
      return link;
    }),
  );
}

function weightGradients(layer) {
  const node = element('div', 'weight-gradients');
  const { kernel, bias } = layer.weight_gradient;
  if (kernel && kernel.shape.length === 4) {
    const array = decodeArray(kernel);
    const [height, width, inputs, filters] = kernel.shape;
    const scale = signedScale(array.limit);
    const heading = element('p', 'weights-heading');
    heading.append(element('span', null, t('∂L/∂W, one tile per filter, on input map')));
    const chooser = element('select', 'input-map');
    chooser.setAttribute('aria-label', t('input map of the weight gradients shown'));
    for (let input = 0; input < inputs; input += 1) chooser.append(new Option(`#${input}`, String(input)));
    if (inputs > 1) heading.append(' ', chooser);
    else heading.append(' #0');
    const tiles = element('div', 'kernel-grid');
    const paint = () => {
      const input = Number(chooser.value || 0);
      tiles.replaceChildren(
        ...Array.from({ length: filters }, (_, filter) => {
          const values = new Float32Array(height * width);
          for (let row = 0; row < height; row += 1) for (let column = 0; column < width; column += 1) values[row * width + column] = array.at(row, column, input, filter);
          const canvas = element('canvas', 'kernel-tile map');
          paintHeatmap(canvas, values, width, height, scale);
          Object.assign(canvas.dataset, { layer: layer.name, of: 'kernel', filter: String(filter), input: String(input) });
          canvas.tabIndex = filter === 0 ? 0 : -1;
          canvas.setAttribute('role', 'img');
          canvas.setAttribute('aria-label', t('∂L/∂W of filter #%(filter)s on input map #%(input)s', { filter, input }));
          canvas.title = `#${filter}`;
          return canvas;
        }),
      );
    };
    chooser.addEventListener('change', paint);
    paint();
    node.append(heading, tiles);
  }
  if (bias) {
    const array = decodeArray(bias);
    node.append(
      sentence('p', 'weights-heading', t('∂L/∂b, one per filter or unit (largest |value| %(limit)s)', { limit: slot(0) }), [number(array.limit, { digits: 3 })]),
      stripCanvas(array.values, signedScale(array.limit), { layer: layer.name, of: 'bias' }, t('∂L/∂b of %(layer)s', { layer: layer.name })),
    );
    node.lastChild.tabIndex = 0;
  }
  return node;
}

/** A batch normalization's γ and β gradients, one strip each, as a layer's bias gradient. */
function normalisationGradients(layer) {
  const node = element('div', 'weight-gradients');
  const text = {
    gamma: (limit) => [t('∂L/∂γ, one per channel (largest |value| %(limit)s)', { limit }), t('∂L/∂γ of %(layer)s', { layer: layer.name })],
    beta: (limit) => [t('∂L/∂β, one per channel (largest |value| %(limit)s)', { limit }), t('∂L/∂β of %(layer)s', { layer: layer.name })],
  };
  for (const variable of ['gamma', 'beta']) {
    const entry = layer.weight_gradient[variable];
    if (!entry) continue; // a layer built with scale=False or center=False has no γ or no β
    const array = decodeArray(entry);
    const [heading, label] = text[variable](slot(0));
    const strip = stripCanvas(array.values, signedScale(array.limit), { layer: layer.name, of: variable }, label);
    strip.tabIndex = 0;
    node.append(sentence('p', 'weights-heading', heading, [number(array.limit, { digits: 3 })]), strip);
  }
  return node;
}

/** The cell of `canvas` under a pointer event, or (event null: the keyboard) the largest |gradient|. */
export function cellOf(canvas, event, answer) {
  const { layer: name, of } = canvas.dataset;
  const layer = answer.layers.find((entry) => entry.name === name);
  const rect = canvas.getBoundingClientRect();
  const pick = (values, width) => {
    if (event) {
      const column = Math.floor(((event.clientX - rect.left) / rect.width) * canvas.width);
      const row = Math.floor(((event.clientY - rect.top) / rect.height) * canvas.height);
      if (row < 0 || column < 0 || row >= canvas.height || column >= canvas.width) return null;
      return row * width + column;
    }
    let best = 0;
    values.forEach((value, index) => {
      if (Math.abs(value) > Math.abs(values[best])) best = index;
    });
    return best;
  };
  if (of === 'kernel') {
    const array = decodeArray(layer.weight_gradient.kernel);
    const [height, width] = array.shape;
    const filter = Number(canvas.dataset.filter);
    const input = Number(canvas.dataset.input);
    const values = Array.from({ length: height * width }, (_, index) => array.at(Math.floor(index / width), index % width, input, filter));
    const index = pick(values, width);
    return index === null ? null : { layer: name, of, at: [Math.floor(index / width), index % width, input, filter] };
  }
  const entry = of === 'output' ? layer.output_gradient : layer.weight_gradient[of];
  const array = decodeArray(entry);
  if (array.shape.length === 3) {
    const channel = Number(canvas.dataset.channel);
    const [, width] = array.shape;
    const index = pick(plane(array, channel), width);
    return index === null ? null : { layer: name, of, at: [Math.floor(index / width), index % width, channel] };
  }
  const columns = Number(canvas.dataset.columns);
  const index = pick(Array.from(array.values), columns);
  return index === null || index >= array.values.length ? null : { layer: name, of, at: [index] };
}
