// The layers page's bands: one per layer, built once, repainted for each drawing.
//
// Each band says what its operation does, in plain words with the layer's
// real numbers, and shows its output: maps as heatmaps (pooled maps beside the
// maps they pool), vectors as strips, the last two layers as ten bars.

import { extent, greyScale, paintHeatmap, scaleFor } from './colours.js';

const number = new Intl.NumberFormat('en');
const value3 = (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3));
const STRIP_COLUMNS = 64;
const STRIP_CELL = 11; // css pixels per cell of a strip

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function shapeText(shape) {
  return shape.join('×');
}

/** The explanation of a layer, with its real numbers. `previous` is the layer before it. */
export function explain(layer, previous) {
  const s = layer.settings;
  switch (layer.kind) {
    case 'InputLayer':
      return {
        title: 'Input',
        term: '入力',
        text: `The ${shapeText(layer.shape.slice(0, 2))} image your drawing became: cropped to the ink, scaled to fit 20×20 and centred, like MNIST's digits. ${number.format(layer.height * layer.width)} numbers from 0 (background) to 255 (ink) are all the network ever sees.`,
      };
    case 'Rescaling':
      return {
        title: 'Rescaling',
        term: '正規化',
        text: `Every pixel is multiplied by ${Number(s.scale).toPrecision(3)} (1/255), so values run from 0 to 1: small inputs keep the arithmetic that follows well behaved. No parameters.`,
      };
    case 'Conv2D': {
      const [k] = s.kernel_size;
      const [stride] = s.strides;
      const padding = s.padding === 'same' ? Math.floor((k - 1) / 2) : 0;
      const inputSide = previous.height;
      const inputs = previous.channels;
      const side = Math.floor((inputSide - k + 2 * padding) / stride) + 1;
      return {
        title: 'Convolution',
        term: '畳み込み',
        text: `Each of the ${s.filters} filters is a ${k}×${k} grid of weights${inputs > 1 ? ` for each of the ${inputs} maps before it` : ''}. It slides over the input ${stride} pixel at a time (stride ${stride}); at each place it multiplies what is under it by its weights, adds them up and adds a bias. Padding "${s.padding}" puts P = ${padding} rings of zeros around the edge, so the output side is (H − K + 2P) / S + 1 = (${inputSide} − ${k} + 2·${padding}) / ${stride} + 1 = ${side}. Output ${shapeText(layer.shape)}; parameters ${k}·${k}·${inputs}·${s.filters} + ${s.filters} = ${number.format(layer.parameters)}. Red where the pattern a filter looks for is present, blue where its opposite is. Click a map to see its filter.`,
      };
    }
    case 'ReLU':
      return {
        title: 'ReLU',
        term: '活性化関数',
        text: `max(0, x): positive values pass, negative ones become 0 (black). What is left is where each filter found its pattern. No parameters.`,
      };
    case 'MaxPooling2D': {
      const [k] = s.pool_size;
      const [stride] = s.strides ?? s.pool_size;
      const side = Math.floor((previous.height - k) / stride) + 1;
      return {
        title: 'Max pooling',
        term: 'プーリング',
        text: `Each ${k}×${k} block is replaced by its largest value, moving ${stride} at a time, so every map shrinks from ${previous.height}×${previous.width} to (${previous.height} − ${k}) / ${stride} + 1 = ${side}. The strongest responses survive, and a drawing shifted by a pixel gives nearly the same result. Each pair shows a map before and after. No parameters.`,
      };
    }
    case 'Flatten':
      return {
        title: 'Flatten',
        term: '平坦化',
        text: `The ${shapeText(previous.shape)} maps are laid out as one row of ${number.format(layer.width)} numbers for the fully connected layers. Nothing is computed.`,
      };
    case 'Dense': {
      const outputs = s.units;
      const inputs = previous.width;
      const last = outputs === 10;
      return {
        title: last ? 'Fully connected: the ten scores' : 'Fully connected',
        term: '全結合',
        text: `Each of the ${outputs} units multiplies all ${number.format(inputs)} inputs by its own weights and adds a bias: ${number.format(inputs)}·${outputs} + ${outputs} = ${number.format(layer.parameters)} parameters.${last ? ' One score (logit) per digit: the higher, the more the network favours it.' : ' Most of the network\'s parameters are here.'}`,
      };
    }
    case 'Dropout':
      return {
        title: 'Dropout',
        term: 'ドロップアウト',
        text: `While training, each step sets a random ${Math.round(s.rate * 100)}% of these values to 0, so the network cannot lean on any one unit. When reading your drawing it does nothing: the values pass unchanged.`,
      };
    case 'Softmax':
      return {
        title: 'Softmax',
        term: 'ソフトマックス',
        text: 'Turns the ten scores into probabilities that add up to 1: e^score / Σ e^score. The largest is the answer.',
      };
    default:
      return { title: layer.kind, term: '', text: '' };
  }
}

export function legend(scale, perMap = false) {
  const node = element('div', 'legend');
  const bar = element('span', 'legend-bar');
  bar.style.backgroundImage = scale.css;
  const low = perMap ? (scale.kind === 'diverging' ? '−max' : '0') : value3(scale.low);
  const high = perMap ? (scale.kind === 'diverging' ? '+max' : 'max') : value3(scale.high);
  node.append(element('span', 'legend-value', low), bar, element('span', 'legend-value', high));
  if (perMap) {
    const note = scale.kind === 'diverging' ? 'white = 0; each map scaled to its own largest |value|' : 'each map scaled to its own largest value';
    node.append(element('span', 'legend-note', note));
  }
  node.setAttribute('aria-label', perMap ? 'colour scale: each map scaled to its own range' : `colour scale from ${value3(scale.low)} to ${value3(scale.high)}`);
  return node;
}

/** The scale for one map: symmetric around 0 when it has negative values. */
function mapScale(values, diverging) {
  const [low, high] = extent(values);
  return scaleFor(diverging ? Math.min(low, -1e-6) : 0, Math.max(high, Math.abs(low), 1e-6));
}

function mapCanvas(layer, channel, className = 'map') {
  const canvas = element('canvas', className);
  canvas.dataset.layer = layer.name;
  canvas.dataset.channel = String(channel);
  if (className.startsWith('map')) {
    // One tab stop per band; the arrow keys move between its maps (see layers.js).
    canvas.tabIndex = channel === 0 && !className.includes('before') ? 0 : -1;
    canvas.setAttribute('role', 'button');
    canvas.setAttribute('aria-label', `${layer.name}${layer.channels > 1 ? `, map ${channel}` : ''}: press Enter to enlarge`);
  }
  return canvas;
}

/** A layer's band. `previous` is the layer before it (for pooling pairs and explanations). */
export class Band {
  constructor(layer, previous, position) {
    this.name = layer.name;
    this.kind = layer.kind;
    this.node = element('section', 'band');
    this.node.dataset.testid = `band-${layer.name}`;
    this.node.dataset.kind = layer.kind;
    this.node.id = `band-${layer.name}`;

    const { title, term, text } = explain(layer, previous);
    const header = element('header', 'band-header');
    const heading = element('h2', 'band-title');
    heading.append(element('span', 'band-index', String(position)), ` ${title} `);
    if (term) heading.append(element('span', 'band-term', term));
    const facts = element('p', 'band-facts');
    facts.append(
      element('code', null, layer.name),
      ` · output ${shapeText(layer.shape)} · ${number.format(layer.parameters)} parameters`,
    );
    header.append(heading, facts, element('p', 'band-text', text));
    this.legendSlot = element('div', 'legend-slot');
    header.append(this.legendSlot);
    this.body = element('div', 'band-body');
    this.node.append(header, this.body);
    this.#build(layer, previous);
  }

  #build(layer, previous) {
    if (layer.kind === 'Softmax' || (layer.kind === 'Dense' && layer.width === 10)) {
      this.bars = element('ol', layer.kind === 'Softmax' ? 'digit-bars' : 'digit-bars centred');
      for (let digit = 0; digit < 10; digit += 1) {
        const row = element('li', 'digit-bar');
        const track = element('span', 'digit-bar-track');
        const fill = element('span', 'digit-bar-fill');
        track.append(fill);
        row.append(element('span', 'digit-bar-label', String(digit)), track, element('span', 'digit-bar-value'));
        this.bars.append(row);
      }
      this.body.append(this.bars);
    } else if (!layer.spatial) {
      this.strip = mapCanvas(layer, 0, 'strip');
      this.body.append(this.strip);
    } else if (layer.kind === 'MaxPooling2D' && previous?.spatial) {
      this.maps = [];
      this.before = [];
      const grid = element('div', 'map-grid pairs');
      for (let channel = 0; channel < layer.channels; channel += 1) {
        const pair = element('figure', 'pair');
        const before = mapCanvas(previous, channel, 'map before');
        const after = mapCanvas(layer, channel, 'map after');
        pair.append(before, element('span', 'pair-arrow', '→'), after, element('figcaption', null, `#${channel}`));
        this.before.push(before);
        this.maps.push(after);
        grid.append(pair);
      }
      this.body.append(grid);
    } else {
      this.maps = [];
      const single = layer.channels === 1;
      const grid = element('div', single ? 'map-grid single' : 'map-grid');
      for (let channel = 0; channel < layer.channels; channel += 1) {
        const figure = element('figure', 'map-figure');
        const canvas = mapCanvas(layer, channel, single ? 'map large' : 'map');
        figure.append(canvas);
        if (!single) figure.append(element('figcaption', null, `#${channel}`));
        this.maps.push(canvas);
        grid.append(figure);
      }
      this.body.append(grid);
    }
  }

  /**
   * Repaint with this drawing's outputs. `perMap`: each map gets its own
   * colour range (shapes stand out); otherwise one range for the whole band
   * (strengths can be compared).
   */
  update(layer, previous, { perMap = true } = {}) {
    if (this.bars) {
      this.#updateBars(layer);
      return;
    }
    const image = layer.kind === 'InputLayer' || layer.kind === 'Rescaling';
    let low = layer.min;
    let high = layer.max;
    if (this.before) {
      low = Math.min(low, previous.min);
      high = Math.max(high, previous.max);
    }
    const bandScale = image ? greyScale(layer.kind === 'InputLayer' ? 255 : 1) : scaleFor(low, high);
    const diverging = bandScale.kind === 'diverging';
    const mapWise = perMap && !image && !this.strip;
    this.legendSlot.replaceChildren(legend(bandScale, mapWise));
    if (this.strip) {
      const columns = Math.min(STRIP_COLUMNS, layer.width);
      const rows = Math.ceil(layer.width / columns);
      const padded = new Float32Array(columns * rows);
      padded.set(layer.values);
      paintHeatmap(this.strip, padded, columns, rows, bandScale);
      this.strip.dataset.columns = String(columns);
      this.strip.style.width = `${columns * STRIP_CELL}px`;
      return;
    }
    this.maps.forEach((canvas, channel) => {
      // A pooled map shares its scale with the map it pools: its values are picked from it.
      const source = this.before ? previous.channel(channel) : layer.channel(channel);
      const scale = mapWise ? mapScale(source, diverging) : bandScale;
      paintHeatmap(canvas, layer.channel(channel), layer.width, layer.height, scale);
      if (this.before) paintHeatmap(this.before[channel], source, previous.width, previous.height, scale);
    });
  }

  #updateBars(layer) {
    const values = Array.from(layer.values);
    const probabilities = layer.kind === 'Softmax';
    const limit = Math.max(...values.map(Math.abs)) || 1;
    const best = values.indexOf(Math.max(...values));
    [...this.bars.children].forEach((row, digit) => {
      const fill = row.querySelector('.digit-bar-fill');
      const value = values[digit];
      if (probabilities) {
        fill.style.width = `${(value * 100).toFixed(1)}%`;
      } else {
        // Scores grow both ways from a zero line in the middle.
        const half = (Math.abs(value) / limit) * 50;
        fill.style.width = `${half.toFixed(1)}%`;
        fill.style.marginLeft = value < 0 ? `${(50 - half).toFixed(1)}%` : '50%';
      }
      fill.classList.toggle('negative', value < 0);
      row.classList.toggle('top', digit === best);
      row.querySelector('.digit-bar-value').textContent = probabilities ? `${(value * 100).toFixed(1)}%` : value.toFixed(2);
    });
    this.legendSlot.replaceChildren();
  }
}
