// The layers page's bands: one per layer, built once, repainted for each drawing.
//
// Each band says what its operation does, in plain words with the layer's
// real numbers, and shows its output: maps as heatmaps (pooled maps beside the
// maps they pool), vectors as strips, the last two layers as ten bars.

import { extent, greyScale, paintHeatmap, scaleFor } from './colours.js';
import { formatNumber, language, t, tn } from './i18n.js';
import { element } from './dom.js';

/** `digits` decimals, with a true minus sign, as the arithmetic panel writes numbers. */
const fixed = (value, digits) => value.toFixed(digits).replace('-', '−');
const value3 = (value) => (Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3));
/** A part of a whole as a percent: whole percents, unless that would round a part to 0% or 100% (99.59% is not all). */
export function formatShare(fraction) {
  for (let digits = 0; digits < 4; digits += 1) {
    const format = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: digits, minimumFractionDigits: digits });
    const rounded = Number((fraction * 100).toFixed(digits));
    if (fraction <= 0 || fraction >= 1 || (rounded > 0 && rounded < 100)) return format.format(fraction);
  }
  return new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 3 }).format(fraction);
}
const STRIP_COLUMNS = 64;
const OVERVIEW_MAPS = 8; // maps shown per band before "Show all"
const STRIP_CELL = 11; // css pixels per cell of a strip

function shapeText(shape) {
  return shape.join('×');
}

/** Sentences as one paragraph: a space after a Latin full stop, none after a CJK one (。). */
function sentences(...parts) {
  return parts.filter(Boolean).reduce((text, part) => (text ? `${text}${/[。！？」）]$/.test(text) ? '' : ' '}${part}` : part), '');
}

/**
 * A pooling layer's numbers for its band: window k, stride, the zeros of its padding above and below and
 * the output side, as the network has them (layers.json), and the input's sides.
 */
function poolingNumbers(layer, previous) {
  const s = layer.settings;
  const [k] = s.pool_size;
  const [stride] = s.strides ?? s.pool_size;
  const [top, bottom] = layer.padding ?? [0, 0];
  return { k, stride, top, bottom, mode: s.padding, height: previous.height, width: previous.width, side: layer.height };
}

/**
 * The explanation of a layer, with its real numbers. `previous` is the layer before it;
 * `total` the whole network's parameters.
 */
export function explain(layer, previous, total) {
  const s = layer.settings;
  switch (layer.kind) {
    case 'InputLayer':
      return {
        title: t('Input'),
        text: sentences(
          t(
            "The %(size)s image your drawing became: cropped to the ink, scaled to fit 20×20 and centred, like MNIST's digits. %(count)s numbers from 0 (background) to 255 (ink) are all the network ever sees.",
            { size: shapeText(layer.shape.slice(0, 2)), count: formatNumber(layer.height * layer.width) },
          ),
          layer.height === 32
            ? t("This network takes 32×32 images, as LeNet-5 did: MNIST's 28×28 field sits in the middle, with a 2-pixel blank border.")
            : '',
        ),
      };
    case 'Rescaling':
      return {
        title: t('Rescaling'),
        text: t(
          'Every pixel is multiplied by %(scale)s (1/255), so values run from 0 to 1: small inputs keep the arithmetic that follows well behaved. No parameters.',
          { scale: Number(s.scale).toPrecision(3) },
        ),
      };
    case 'Conv2D': {
      const [k] = s.kernel_size;
      const [stride] = s.strides;
      // The zeros around the input as the network adds them (layers.json), and the output side it has.
      const [top, bottom] = layer.padding;
      const padding = top;
      const inputSide = previous.height;
      const inputs = previous.channels;
      const side = layer.height;
      const numbers = { filters: s.filters, k, stride, padding, top, bottom, mode: s.padding, input: inputSide, inputs, side };
      return {
        title: t('Convolution layer'),
        text: sentences(
          inputs > 1
            ? t('Each of the %(filters)s filters is a %(k)s×%(k)s grid of weights for each of the %(inputs)s maps before it.', numbers)
            : t('Each of the %(filters)s filters is a %(k)s×%(k)s grid of weights.', numbers),
          t(
            'It slides over the input %(stride)s pixel at a time (stride %(stride)s); at each place it multiplies what is under it by its weights, adds them up and adds a bias.',
            numbers,
          ),
          top !== bottom
            ? t(
                'Padding "%(mode)s" puts %(top)s rows of zeros above and %(bottom)s below (TensorFlow puts the odd one after), so the output side is (H − K + P_top + P_bottom) / S + 1 = (%(input)s − %(k)s + %(top)s + %(bottom)s) / %(stride)s + 1 = %(side)s, rounded down.',
                numbers,
              )
            : padding > 0
            ? t(
                'Padding "%(mode)s" puts P = %(padding)s rings of zeros around the edge, so the output side is (H − K + 2P) / S + 1 = (%(input)s − %(k)s + 2·%(padding)s) / %(stride)s + 1 = %(side)s.',
                numbers,
              )
            : t(
                'No padding ("%(mode)s", P = 0), so the output side is (H − K + 2P) / S + 1 = (%(input)s − %(k)s + 2·0) / %(stride)s + 1 = %(side)s.',
                numbers,
              ),
          t('Output %(shape)s; parameters %(k)s·%(k)s·%(inputs)s·%(filters)s + %(filters)s = %(parameters)s.', {
            ...numbers,
            shape: shapeText(layer.shape),
            parameters: formatNumber(layer.parameters),
          }),
          t('Weight sharing: each filter is one set of %(k)s·%(k)s·%(inputs)s weights slid over every position of the image, so the count does not grow with the image. %(inputs)s is the number of input channels (maps), %(filters)s the number of output channels, one per filter.', numbers),
          t('Red where the pattern a filter looks for is present, blue where its opposite is. Click a cell to see how its number was computed, beside its filter.'),
        ),
      };
    }
    case 'ReLU':
      return {
        title: t('Activation function (ReLU)'),
        text: layer.spatial
          ? t('max(0, x): positive values pass, negative ones become 0 (black). What is left is where each filter found its pattern. No parameters.')
          : t('max(0, x): positive values pass, negative ones become 0 (black). What is left are the units that responded to your drawing. No parameters.'),
      };
    case 'MaxPooling2D': {
      const numbers = poolingNumbers(layer, previous);
      return {
        title: t('Max pooling layer'),
        text:
          numbers.top + numbers.bottom > 0
            ? t(
                'Each %(k)s×%(k)s block is replaced by its largest value, moving %(stride)s at a time. Padding "%(mode)s" adds %(top)s rows above and %(bottom)s below, which never win, so every map shrinks from %(height)s×%(width)s to (%(height)s − %(k)s + %(top)s + %(bottom)s) / %(stride)s + 1 = %(side)s, rounded down. The strongest responses survive, and a drawing shifted by a pixel gives nearly the same result. Each pair shows a map before and after. No parameters.',
                numbers,
              )
            : t(
                'Each %(k)s×%(k)s block is replaced by its largest value, moving %(stride)s at a time, so every map shrinks from %(height)s×%(width)s to (%(height)s − %(k)s) / %(stride)s + 1 = %(side)s. The strongest responses survive, and a drawing shifted by a pixel gives nearly the same result. Each pair shows a map before and after. No parameters.',
                numbers,
              ),
      };
    }
    case 'Flatten':
      return {
        title: t('Flatten'),
        text: t('The %(shape)s maps are laid out as one row of %(count)s numbers for the fully connected layers. Nothing is computed.', {
          shape: shapeText(previous.shape),
          count: formatNumber(layer.width),
        }),
      };
    case 'Dense': {
      const outputs = s.units;
      const inputs = previous.width;
      const last = outputs === 10;
      const numbers = {
        outputs,
        inputs: formatNumber(inputs),
        parameters: formatNumber(layer.parameters),
      };
      return {
        title: last ? t('Fully connected layer: the ten scores') : t('Fully connected layer'),
        text: sentences(
          t('Each of the %(outputs)s units multiplies all %(inputs)s inputs by its own weights and adds a bias: %(inputs)s·%(outputs)s + %(outputs)s = %(parameters)s parameters.', numbers),
          last
            ? t('One score (logit) per digit: the higher, the more the network favours it.')
            : t("That is %(share)s of the network's %(total)s parameters.", {
                share: formatShare(layer.parameters / total),
                total: formatNumber(total),
              }),
        ),
      };
    }
    case 'Dropout':
      return {
        title: t('Dropout'),
        text: t(
          'While training, each step sets a random %(rate)s%% of these values to 0, so the network cannot lean on any one unit. When reading your drawing it does nothing: the values pass unchanged.',
          { rate: Math.round(s.rate * 100) },
        ),
      };
    case 'AveragePooling2D': {
      const numbers = poolingNumbers(layer, previous);
      return {
        title: t('Average pooling layer'),
        text:
          numbers.top + numbers.bottom > 0
            ? t(
                'Each %(k)s×%(k)s block is replaced by the mean of its values, moving %(stride)s at a time. Padding "%(mode)s" adds %(top)s rows above and %(bottom)s below, which are not counted in the mean, so every map shrinks from %(height)s×%(width)s to (%(height)s − %(k)s + %(top)s + %(bottom)s) / %(stride)s + 1 = %(side)s, rounded down. No parameters.',
                numbers,
              )
            : t(
                'Each %(k)s×%(k)s block is replaced by the mean of its values, moving %(stride)s at a time, so every map shrinks from %(height)s×%(width)s to (%(height)s − %(k)s) / %(stride)s + 1 = %(side)s. No parameters.',
                numbers,
              ),
      };
    }
    case 'GlobalAveragePooling2D':
      return {
        title: t('Global average pooling'),
        text: t(
          'Each whole %(height)s×%(width)s map becomes one number, the mean of its %(count)s values: %(channels)s maps give %(channels)s numbers. No parameters.',
          {
            height: previous.height,
            width: previous.width,
            count: formatNumber(previous.height * previous.width),
            channels: layer.width,
          },
        ),
      };
    case 'ZeroPadding2D': {
      const [[top, bottom], [left, right]] = s.padding;
      return {
        title: t('Zero padding'),
        text: t(
          'Adds rows and columns of zeros around each map (%(top)s above, %(bottom)s below, %(left)s left, %(right)s right): %(height)s×%(width)s becomes %(side)s, so the next layer reads the edges as often as the middle. Nothing is computed; no parameters.',
          { top, bottom, left, right, height: previous.height, width: previous.width, side: shapeText([layer.height, layer.width]) },
        ),
      };
    }
    case 'BatchNormalization':
      return {
        title: t('Batch normalization'),
        text: t(
          'Each value x of channel c becomes (x − mean) / √(variance + ε) · γ + β, with the mean and variance the channel had over the training data and γ, β learned: every channel arrives on a similar scale. %(parameters)s numbers: four per channel (mean, variance, γ, β). Click a cell to see them.',
          { parameters: formatNumber(layer.parameters) },
        ),
      };
    case 'Activation':
      switch (s.activation) {
        case 'sigmoid':
          return {
            title: t('Activation function (sigmoid)'),
            text: t('1 / (1 + e^−x): every value is squeezed between 0 and 1; large positive values come close to 1, large negative ones close to 0. No parameters.'),
          };
        case 'tanh':
          return {
            title: t('Activation function (tanh)'),
            text: t('tanh(x): every value is squeezed between −1 and 1, keeping its sign; values far from 0 come close to ±1. No parameters.'),
          };
        case 'relu':
          return explain({ ...layer, kind: 'ReLU' }, previous, total);
        case 'softmax':
          return explain({ ...layer, kind: 'Softmax' }, previous, total);
        default:
          return { title: t('Activation function (linear)'), text: t('The values pass unchanged. No parameters.') };
      }
    case 'Softmax':
      return {
        title: t('Softmax function'),
        text: t('Turns the ten scores into probabilities that add up to 1: e^score / Σ e^score. The largest is the answer.'),
      };
    default:
      return { title: layer.kind, text: '' };
  }
}

export function legend(scale, perMap = false) {
  const node = element('div', 'legend');
  const bar = element('span', 'legend-bar');
  bar.style.backgroundImage = scale.css;
  const low = perMap ? (scale.kind === 'diverging' ? t('−max') : '0') : value3(scale.low);
  const high = perMap ? (scale.kind === 'diverging' ? t('+max') : t('max')) : value3(scale.high);
  node.append(element('span', 'legend-value', low), bar, element('span', 'legend-value', high));
  if (perMap) {
    const note =
      scale.kind === 'diverging'
        ? t('white = 0; each map scaled to its own largest |value|')
        : t('each map scaled to its own largest value');
    node.append(element('span', 'legend-note', note));
  }
  node.setAttribute(
    'aria-label',
    perMap
      ? t('colour scale: each map scaled to its own range')
      : t('colour scale from %(low)s to %(high)s', { low: value3(scale.low), high: value3(scale.high) }),
  );
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
    canvas.setAttribute(
      'aria-label',
      layer.channels > 1
        ? t('%(layer)s, map %(channel)s: press Enter to see how a cell was computed', { layer: layer.name, channel })
        : t('%(layer)s: press Enter to see how a cell was computed', { layer: layer.name }),
    );
  }
  return canvas;
}

/**
 * A layer's band. `previous` is the layer before it (for pooling pairs and explanations);
 * `total` the network's parameters.
 */
export class Band {
  constructor(layer, previous, position, total) {
    this.name = layer.name;
    this.kind = layer.kind;
    this.node = element('section', 'band');
    this.node.dataset.testid = `band-${layer.name}`;
    this.node.dataset.kind = layer.kind;
    this.node.id = `band-${layer.name}`;

    const { title, text } = explain(layer, previous, total);
    const header = element('header', 'band-header');
    const heading = element('h2', 'band-title');
    heading.append(element('span', 'band-index', String(position)), ` ${title}`);
    const facts = element('p', 'band-facts');
    facts.append(
      element('code', null, layer.name),
      ' · ',
      tn('output %(shape)s · %(num)s parameter', 'output %(shape)s · %(num)s parameters', layer.parameters, {
        shape: shapeText(layer.shape),
        num: formatNumber(layer.parameters),
      }),
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
      // The bars come from the 8-bit encoding: say so, and where the exact value is.
      this.barsNote = element('p', 'digit-bars-note');
      // Enter explains the top score; a click or tap, any of them.
      this.bars.tabIndex = 0;
      this.bars.setAttribute('aria-label', t('%(layer)s: press Enter to see how the top score was computed', { layer: layer.name }));
      this.body.append(this.bars, this.barsNote);
    } else if (!layer.spatial) {
      this.strip = mapCanvas(layer, 0, 'strip');
      this.strip.tabIndex = 0;
      this.strip.setAttribute('role', 'button');
      this.strip.setAttribute('aria-label', t('%(layer)s: press Enter to see how its strongest value was computed', { layer: layer.name }));
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
      this.#overview(grid, layer.channels);
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
      this.#overview(grid, layer.channels);
    }
  }

  /** A few maps at first, so the whole network fits in a few screens; a button shows them all. */
  #overview(grid, count) {
    if (count <= OVERVIEW_MAPS) return;
    grid.classList.add('overview');
    const button = element('button', 'show-all');
    button.type = 'button';
    button.setAttribute('aria-expanded', 'false');
    const label = () => {
      const open = !grid.classList.contains('overview');
      button.textContent = open
        ? t('Show the first %(count)s maps only', { count: OVERVIEW_MAPS })
        : t('Show all %(count)s maps', { count });
      button.setAttribute('aria-expanded', String(open));
    };
    button.addEventListener('click', () => {
      grid.classList.toggle('overview');
      label();
    });
    label();
    this.body.append(button);
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
      const shown = probabilities ? `${fixed(value * 100, 1)}%` : fixed(value, 2);
      // An 8-bit value is only near the network's (any byte stands for a range of values): ≈, as the note says.
      row.querySelector('.digit-bar-value').textContent = `≈ ${shown}`;
    });
    const half = layer.steps[0] / 2;
    const within = probabilities ? fixed(half * 100, 2) + '%' : fixed(half, 3);
    this.barsNote.textContent = t(
      '≈: from the 8-bit encoding, within ±%(half)s. Choose a bar for the exact value.',
      { half: within },
    );
    this.legendSlot.replaceChildren();
  }
}
