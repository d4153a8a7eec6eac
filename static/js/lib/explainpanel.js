// The arithmetic panel of the layers page: how one number of one layer came to
// be, from /api/explain's float32 terms.
//
// Every sum the panel shows adds up in the digits it shows: the value and the
// bias are rounded, the sum is their difference, and the terms of each sum
// are rounded so that they add up to it (each within one unit of the last
// digit; see arithmetic.js `apportion`). Each number's title holds it to
// float32's precision.

import { apportion, fixed, significant, toUnits, unitsText } from './arithmetic.js';
import { extent, scaleFor } from './colours.js';
import { t } from './i18n.js';

const DENSE_SHOWN = 8; // a dense unit's largest contributions listed one by one
const SLIDE_MS = 1400;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

const SUPERSCRIPT = { '-': '⁻', 0: '⁰', 1: '¹', 2: '²', 3: '³', 4: '⁴', 5: '⁵', 6: '⁶', 7: '⁷', 8: '⁸', 9: '⁹' };

/** 4 significant figures; very small numbers as a × 10⁻ⁿ. */
export function scientific(value) {
  if (value === 0 || Math.abs(value) >= 1e-3) return significant(value);
  const [mantissa, exponent] = value.toExponential(3).split('e');
  const power = [...String(Number(exponent))].map((char) => SUPERSCRIPT[char]).join('');
  return `${mantissa.replace('-', '−')} × 10${power}`;
}

/** Decimals for a panel whose largest number is `largest`: four significant figures of it. */
export function decimalsFor(largest) {
  if (!(largest > 0)) return 4;
  return Math.min(6, Math.max(1, 4 - Math.floor(Math.log10(largest))));
}

/** A number shown with `decimals` places, its float32 value in the title. */
function numberNode(tag, units, decimals, exact, className = 'num') {
  const node = element(tag, className, unitsText(units, decimals));
  if (exact !== undefined) node.title = String(Math.fround(exact));
  return node;
}

function cellText(layerName, at, channels) {
  if (at.length === 1) return t('%(layer)s · unit %(index)s', { layer: layerName, index: at[0] });
  if (channels > 1) {
    return t('%(layer)s · map #%(channel)s · row %(row)s, column %(column)s', {
      layer: layerName, channel: at[2], row: at[0], column: at[1],
    });
  }
  return t('%(layer)s · row %(row)s, column %(column)s', { layer: layerName, row: at[0], column: at[1] });
}

/** A grid of numbers, `height` x `width`, row by row; `classes(i)` adds classes to cell i. */
function numberGrid(texts, height, width, { titles = [], classes = () => '', label }) {
  const table = element('table', 'number-grid');
  if (label) table.setAttribute('aria-label', label);
  const body = element('tbody');
  for (let row = 0; row < height; row += 1) {
    const tr = element('tr');
    for (let column = 0; column < width; column += 1) {
      const index = row * width + column;
      const td = element('td', classes(index), texts[index]);
      if (titles[index] !== undefined) td.title = titles[index];
      tr.append(td);
    }
    body.append(tr);
  }
  table.append(body);
  return table;
}

// Where a number element goes inside a translated sentence (t() returns plain text).
const SLOT = '\u0001';

/** A translated sentence made with `{ [name]: SLOT }`, with `node` in the slot. */
function withNode(text, node) {
  const [before, after = ''] = text.split(SLOT);
  return [before, node, after];
}

function figure(caption, content) {
  const node = element('figure', 'explain-figure');
  node.append(element('figcaption', null, caption), content);
  return node;
}

/**
 * Paint a layer's map (8-bit values from /api/features: a picture, not the
 * numbers) `cell` css pixels a cell, with `padding` rings of padding shown as
 * hatched cells, and outline `box` {top, left, height, width} in map cells.
 */
export function paintMap(canvas, layer, channel, { padding = 0, box = null, marks = [], cell = 8 } = {}) {
  const side = layer.height + 2 * padding;
  const across = layer.width + 2 * padding;
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(across * cell * ratio);
  canvas.height = Math.round(side * cell * ratio);
  canvas.style.width = `${across * cell}px`;
  canvas.style.height = `${side * cell}px`;
  const context = canvas.getContext('2d');
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  const values = layer.channel(channel);
  const image = layer.kind === 'InputLayer' || layer.kind === 'Rescaling';
  const [low, high] = extent(values);
  const scale = image ? null : scaleFor(low, Math.max(high, Math.abs(low), 1e-6));
  const styles = getComputedStyle(canvas);
  context.fillStyle = styles.getPropertyValue('--pad-cell').trim() || '#888';
  context.fillRect(0, 0, across * cell, side * cell);
  for (let row = 0; row < layer.height; row += 1) {
    for (let column = 0; column < layer.width; column += 1) {
      const value = values[row * layer.width + column];
      if (image) {
        const grey = Math.round((value / (layer.kind === 'InputLayer' ? 255 : 1)) * 255);
        context.fillStyle = `rgb(${grey} ${grey} ${grey})`;
      } else {
        context.fillStyle = `rgb(${scale.colour(value).join(' ')})`;
      }
      context.fillRect((column + padding) * cell, (row + padding) * cell, cell, cell);
    }
  }
  if (padding > 0) {
    // The padding's zeros: hatched, so they read as "added", not as part of the map.
    context.strokeStyle = styles.getPropertyValue('--pad-hatch').trim() || 'rgba(0,0,0,0.35)';
    context.lineWidth = 1;
    context.beginPath();
    for (let row = 0; row < side; row += 1) {
      for (let column = 0; column < across; column += 1) {
        const inside = row >= padding && row < side - padding && column >= padding && column < across - padding;
        if (inside) continue;
        context.moveTo(column * cell, (row + 1) * cell);
        context.lineTo((column + 1) * cell, row * cell);
      }
    }
    context.stroke();
  }
  const outline = (rect, colour, width) => {
    context.strokeStyle = colour;
    context.lineWidth = width;
    context.strokeRect(
      (rect.left + padding) * cell + width / 2,
      (rect.top + padding) * cell + width / 2,
      rect.width * cell - width,
      rect.height * cell - width,
    );
  };
  for (const mark of marks) outline({ ...mark, height: 1, width: 1 }, mark.colour ?? '#00e0ff', 2);
  if (box) {
    outline(box, '#000', 4);
    outline(box, '#ffd000', 2);
  }
}

/** The panel. `layersAt()` gives the decoded layers of the current answer (for pictures). */
export class ExplainPanel {
  constructor({ onChoose, onEnlarge, onClose }) {
    this.onChoose = onChoose;
    this.onEnlarge = onEnlarge;
    this.node = element('section', 'explain');
    this.node.dataset.testid = 'explain';
    this.node.setAttribute('aria-labelledby', 'explain-title');
    this.node.hidden = true;
    const header = element('header', 'explain-header');
    this.title = element('h3', 'explain-title');
    this.title.id = 'explain-title';
    const actions = element('div', 'explain-actions');
    this.enlarge = element('button', 'explain-enlarge', t('Enlarge with its filter'));
    this.enlarge.type = 'button';
    this.enlarge.addEventListener('click', () => this.onEnlarge(this.answer));
    const close = element('button', 'explain-close', t('Close'));
    close.type = 'button';
    close.addEventListener('click', () => {
      this.hide();
      onClose?.();
    });
    actions.append(this.enlarge, close);
    header.append(this.title, actions);
    this.status = element('p', 'explain-status');
    this.status.setAttribute('role', 'status');
    this.pictures = element('div', 'explain-pictures');
    this.body = element('div', 'explain-body');
    this.node.append(header, this.status, this.pictures, this.body);
    this.slide = null;
  }

  hide() {
    this.node.hidden = true;
    this.#stopSlide();
  }

  waiting(text) {
    this.node.hidden = false;
    this.node.dataset.state = 'pending';
    this.status.textContent = text;
  }

  failed(text) {
    this.node.dataset.state = 'error';
    this.status.textContent = text;
  }

  /**
   * Show an answer of /api/explain. `layers` are the decoded layers of the
   * same drawing, `index` the position of the explained layer among them.
   */
  show(answer, layers, index) {
    this.answer = answer;
    this.layers = layers;
    this.index = index;
    const layer = layers[index];
    this.node.hidden = false;
    this.node.dataset.state = 'done';
    this.node.dataset.operation = answer.operation;
    this.node.dataset.layer = answer.layer;
    this.node.dataset.at = answer.at.join(',');
    this.status.textContent = '';
    this.title.replaceChildren(
      `${cellText(answer.layer, answer.at, layer.channels)} = `,
      element('span', 'explain-value', significant(answer.value, 7)),
    );
    this.enlarge.hidden = !(layer.spatial && layers.slice(0, index + 1).some((item) => item.kind === 'Conv2D'));
    this.#stopSlide();
    this.pictures.replaceChildren();
    this.body.replaceChildren();
    const render = {
      conv: () => this.#conv(),
      dense: () => this.#dense(),
      relu: () => this.#single('relu'),
      dropout: () => this.#single('dropout'),
      rescale: () => this.#single('rescale'),
      flatten: () => this.#single('flatten'),
      input: () => this.#single('input'),
      'max-pool': () => this.#pool(),
      'average-pool': () => this.#pool(),
      softmax: () => this.#softmax(),
    }[answer.operation];
    if (render) render();
    else this.body.append(element('p', null, t('This layer passes its input on: value = %(value)s.', { value: significant(answer.value) })));
  }

  // --- Pictures: the input the cell reads, and the layer with the cell marked ---

  #inputLayer() {
    return this.layers.find((layer) => layer.name === this.answer.input_layer) ?? null;
  }

  #pictures({ channel, padding = 0, box, slide = false, stride = [1, 1] }) {
    const input = this.#inputLayer();
    const layer = this.layers[this.index];
    const at = this.answer.at;
    if (input?.spatial) {
      const canvas = element('canvas', 'explain-map explain-input');
      canvas.setAttribute('role', 'img');
      canvas.setAttribute(
        'aria-label',
        t('%(layer)s, the input of this cell, with the window it reads outlined', { layer: input.name }),
      );
      const cell = Math.max(3, Math.floor(224 / (input.height + 2 * padding)));
      const draw = (where) => paintMap(canvas, input, channel, { padding, box: where, cell });
      draw(box);
      const caption =
        input.channels > 1
          ? t('The input it reads: %(layer)s, map #%(channel)s', { layer: input.name, channel })
          : t('The input it reads: %(layer)s', { layer: input.name });
      this.pictures.append(figure(caption, canvas));
      if (slide) this.#slideTo(draw, box, stride, padding);
    }
    if (layer.spatial) {
      const canvas = element('canvas', 'explain-map explain-output');
      canvas.tabIndex = 0;
      canvas.setAttribute('role', 'application');
      canvas.setAttribute('aria-label', t('%(layer)s: click a cell, or move with the arrow keys, to explain another', { layer: layer.name }));
      canvas.dataset.layer = layer.name;
      canvas.dataset.channel = String(at[2]);
      const cell = Math.max(3, Math.floor(224 / layer.height));
      paintMap(canvas, layer, at[2], { marks: [{ top: at[0], left: at[1] }], cell });
      canvas.addEventListener('click', (event) => {
        const rect = canvas.getBoundingClientRect();
        const row = Math.floor(((event.clientY - rect.top) / rect.height) * layer.height);
        const column = Math.floor(((event.clientX - rect.left) / rect.width) * layer.width);
        if (row >= 0 && column >= 0 && row < layer.height && column < layer.width) this.onChoose(layer.name, [row, column, at[2]], { focus: 'output' });
      });
      canvas.addEventListener('keydown', (event) => {
        const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[event.key];
        if (!steps) return;
        event.preventDefault();
        const row = Math.min(layer.height - 1, Math.max(0, at[0] + steps[0]));
        const column = Math.min(layer.width - 1, Math.max(0, at[1] + steps[1]));
        this.onChoose(layer.name, [row, column, at[2]], { focus: 'output' });
      });
      const caption =
        layer.channels > 1
          ? t('%(layer)s, map #%(channel)s: the cell explained', { layer: layer.name, channel: at[2] })
          : t('%(layer)s: the cell explained', { layer: layer.name });
      this.pictures.append(figure(caption, canvas));
    }
  }

  focusOutput() {
    this.pictures.querySelector('.explain-output')?.focus();
  }

  /** Slide the window from the top-left corner to its place, stride by stride (unless motion is reduced). */
  #slideTo(draw, box, stride, padding) {
    if (!box || window.matchMedia('(prefers-reduced-motion: reduce)').matches) return;
    const rows = Math.round((box.top + padding) / stride[0]);
    const columns = Math.round((box.left + padding) / stride[1]);
    const layer = this.layers[this.index];
    const across = layer.width;
    const steps = rows * across + columns; // positions visited in reading order
    if (steps === 0) return;
    const start = performance.now();
    this.node.dataset.sliding = 'true';
    const frame = (now) => {
      const progress = Math.min(1, (now - start) / SLIDE_MS);
      const step = Math.round(progress * steps);
      const row = Math.floor(step / across);
      const column = step % across;
      draw({ ...box, top: row * stride[0] - padding, left: column * stride[1] - padding });
      if (progress < 1) this.slide = requestAnimationFrame(frame);
      else {
        draw(box);
        this.slide = null;
        delete this.node.dataset.sliding;
      }
    };
    this.slide = requestAnimationFrame(frame);
  }

  #stopSlide() {
    if (this.slide) cancelAnimationFrame(this.slide);
    this.slide = null;
    delete this.node.dataset.sliding;
  }

  #linkTo(layerName, at, text) {
    const button = element('button', 'explain-link', text);
    button.type = 'button';
    button.dataset.layer = layerName;
    button.dataset.at = at.join(',');
    button.addEventListener('click', () => this.onChoose(layerName, at, { focus: 'panel' }));
    return button;
  }

  // --- One view per operation ---

  #conv() {
    const answer = this.answer;
    const { height, width } = answer.window;
    const perChannel = height * width;
    const channels = answer.channel_sums.length;
    const products = answer.inputs.map((value, i) => value * answer.weights[i]);
    const largest = Math.max(Math.abs(answer.value), Math.abs(answer.bias), ...products.map(Math.abs));
    const decimals = decimalsFor(largest);
    const valueUnits = toUnits(answer.value, decimals);
    const biasUnits = toUnits(answer.bias, decimals);
    const sumUnits = valueUnits - biasUnits;
    const channelUnits = apportion(answer.channel_sums.map((sum) => sum * 10 ** decimals), sumUnits);
    const padding = this.#paddingRing();

    // The channel opened: the one that contributes most, unless the learner chose one.
    let open = this.openChannel;
    if (!(open >= 0 && open < channels) || this.openFor !== `${answer.layer}:${answer.at.join(',')}`) {
      open = 0;
      answer.channel_sums.forEach((sum, channel) => {
        if (Math.abs(sum) > Math.abs(answer.channel_sums[open])) open = channel;
      });
    }
    this.openChannel = open;
    this.openFor = `${answer.layer}:${answer.at.join(',')}`;
    const stride = this.layers[this.index].settings.strides ?? [1, 1];
    this.#pictures({ channel: open, padding, box: answer.window, slide: true, stride });

    const windowNode = element('div', 'explain-channel');
    const showChannel = (channel) => {
      const from = channel * perChannel;
      const slice = (list) => list.slice(from, from + perChannel);
      const isPadding = slice(answer.padding);
      const productUnits = apportion(slice(products).map((product) => product * 10 ** decimals), channelUnits[channel]);
      const classes = (i) => (isPadding[i] ? 'padding-cell' : '');
      const grids = element('div', 'explain-grids');
      grids.append(
        figure(
          channels > 1 ? t('Input window, map #%(channel)s', { channel }) : t('Input window'),
          numberGrid(slice(answer.inputs).map((value, i) => (isPadding[i] ? '0' : significant(value))), height, width, {
            titles: slice(answer.inputs).map((value, i) => (isPadding[i] ? t('padding: a zero added around the map') : String(value))),
            classes,
            label: t('input window'),
          }),
        ),
        element('span', 'explain-operator', '×'),
        figure(
          t('Weights'),
          numberGrid(slice(answer.weights).map((value) => significant(value)), height, width, {
            titles: slice(answer.weights).map(String),
            label: t('weights'),
          }),
        ),
        element('span', 'explain-operator', '='),
        figure(
          t('Products'),
          numberGrid(productUnits.map((units) => unitsText(units, decimals)), height, width, {
            titles: slice(products).map(String),
            classes: (i) => `product ${classes(i)}`,
            label: t('products'),
          }),
        ),
      );
      const sum = element('p', 'explain-line explain-channel-sum');
      const partial = numberNode('strong', channelUnits[channel], decimals, answer.channel_sums[channel]);
      sum.append(
        ...withNode(
          channels > 1
            ? t('The %(count)s products of map #%(channel)s add up to %(sum)s.', { count: perChannel, channel, sum: SLOT })
            : t('The %(count)s products add up to %(sum)s.', { count: perChannel, sum: SLOT }),
          partial,
        ),
      );
      windowNode.replaceChildren(grids, sum);
      if (isPadding.some(Boolean)) {
        windowNode.append(element('p', 'explain-note', t('Hatched cells are padding: zeros added around the map, so they add nothing.')));
      }
    };

    if (channels > 1) {
      const intro = element(
        'p',
        'explain-note',
        t('This filter has a %(height)s×%(width)s window on each of the %(channels)s maps of %(layer)s. Each map gives a partial sum; open any of them to see its products.', {
          height, width, channels, layer: answer.input_layer,
        }),
      );
      const list = element('div', 'channel-sums');
      list.setAttribute('role', 'group');
      list.setAttribute('aria-label', t('partial sum of each input map'));
      for (let channel = 0; channel < channels; channel += 1) {
        const button = element('button', 'channel-sum');
        button.type = 'button';
        button.dataset.channel = String(channel);
        button.setAttribute('aria-pressed', String(channel === open));
        button.append(element('span', 'channel-sum-label', `#${channel}`), numberNode('span', channelUnits[channel], decimals, answer.channel_sums[channel]));
        button.addEventListener('click', () => {
          this.openChannel = channel;
          list.querySelectorAll('button').forEach((other) => other.setAttribute('aria-pressed', String(other === button)));
          showChannel(channel);
          this.pictures.replaceChildren();
          this.#pictures({ channel, padding, box: answer.window, stride });
        });
        list.append(button);
      }
      const total = element('p', 'explain-line explain-total');
      total.append(
        ...withNode(
          t('The %(channels)s partial sums add up to %(sum)s.', { channels, sum: SLOT }),
          numberNode('strong', sumUnits, decimals, answer.computed - answer.bias),
        ),
      );
      this.body.append(intro, list, windowNode, total);
    } else {
      this.body.append(windowNode);
    }
    showChannel(open);
    this.body.append(this.#biasLine(sumUnits, biasUnits, valueUnits, decimals));
  }

  /** Rings of padding drawn around the layer's input: its widest side of zeros (layers.json's padding). */
  #paddingRing() {
    return Math.max(0, ...(this.layers[this.index].padding ?? [0]));
  }

  #biasLine(sumUnits, biasUnits, valueUnits, decimals) {
    const line = element('p', 'explain-line explain-result');
    line.append(
      numberNode('span', sumUnits, decimals, this.answer.computed - this.answer.bias, 'num explain-sum'),
      ' + ',
      t('bias'),
      ' ',
      numberNode('span', biasUnits, decimals, this.answer.bias, 'num explain-bias'),
      ' = ',
      numberNode('strong', valueUnits, decimals, this.answer.value, 'num explain-total-value'),
    );
    return line;
  }

  #dense() {
    const answer = this.answer;
    const products = answer.inputs.map((value, i) => ({ index: i, value, weight: answer.weights[i], product: value * answer.weights[i] }));
    const largest = Math.max(Math.abs(answer.value), Math.abs(answer.bias), ...products.map((term) => Math.abs(term.product)));
    const decimals = decimalsFor(largest);
    const valueUnits = toUnits(answer.value, decimals);
    const biasUnits = toUnits(answer.bias, decimals);
    const sumUnits = valueUnits - biasUnits;
    const ranked = [...products].sort((first, second) => Math.abs(second.product) - Math.abs(first.product));
    const shown = ranked.slice(0, DENSE_SHOWN);
    const rest = ranked.slice(DENSE_SHOWN);
    const restSum = rest.reduce((total, term) => total + term.product, 0);
    const units = apportion([...shown.map((term) => term.product), ...(rest.length ? [restSum] : [])].map((value) => value * 10 ** decimals), sumUnits);

    this.body.append(
      element(
        'p',
        'explain-note',
        t('Each of the %(count)s inputs from %(layer)s is multiplied by this unit\'s own weight; the largest products are listed, the others added together.', {
          count: answer.inputs.length, layer: answer.input_layer,
        }),
      ),
    );
    const table = element('table', 'explain-terms');
    const head = element('tr');
    for (const text of [t('input'), t('value'), '×', t('weight'), '=', t('product')]) head.append(element('th', null, text));
    const thead = element('thead');
    thead.append(head);
    const tbody = element('tbody');
    shown.forEach((term, i) => {
      const row = element('tr', 'term');
      const link = element('td');
      link.append(this.#linkTo(answer.input_layer, [term.index], `#${term.index}`));
      row.append(
        link,
        element('td', 'num', significant(term.value)),
        element('td', 'op', '×'),
        element('td', 'num', significant(term.weight)),
        element('td', 'op', '='),
        numberNode('td', units[i], decimals, term.product, 'num product'),
      );
      row.children[1].title = String(term.value);
      row.children[3].title = String(term.weight);
      tbody.append(row);
    });
    if (rest.length) {
      const row = element('tr', 'term rest');
      const label = element('td', null, t('the other %(count)s products', { count: rest.length }));
      label.colSpan = 5;
      row.append(label, numberNode('td', units[units.length - 1], decimals, restSum, 'num product'));
      tbody.append(row);
    }
    const sumRow = element('tr', 'sum');
    const sumLabel = element('td', null, t('sum of all %(count)s products', { count: answer.inputs.length }));
    sumLabel.colSpan = 5;
    sumRow.append(sumLabel, numberNode('td', sumUnits, decimals, answer.computed - answer.bias, 'num'));
    tbody.append(sumRow);
    table.append(thead, tbody);
    const zeros = products.filter((term) => term.value === 0).length;
    this.body.append(table);
    if (zeros) {
      this.body.append(element('p', 'explain-note', t('Inputs that are 0 here, so add nothing: %(count)s of %(total)s.', { count: zeros, total: products.length })));
    }
    this.body.append(this.#biasLine(sumUnits, biasUnits, valueUnits, decimals));
  }

  #single(operation) {
    const answer = this.answer;
    const at = answer.at;
    const input = this.#inputLayer();
    const x = answer.inputs[0];
    const line = element('p', 'explain-line explain-result');
    if (input?.spatial && answer.positions) {
      const [row, column, channel] = answer.positions[0];
      this.#pictures({ channel, box: { top: row, left: column, height: 1, width: 1 } });
    } else if (this.layers[this.index].spatial) {
      this.#pictures({ channel: at[2] ?? 0 });
    }
    switch (operation) {
      case 'relu':
        line.append(`max(0, ${significant(x, 7)}) = `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
        this.body.append(
          element('p', 'explain-note', x > 0 ? t('Positive, so ReLU passes it unchanged.') : t('Not positive, so ReLU makes it 0.')),
          line,
        );
        break;
      case 'dropout':
        line.append(`${significant(x, 7)} → `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
        this.body.append(element('p', 'explain-note', t('Dropout only acts while the network trains; when it reads, every value passes unchanged.')), line);
        break;
      case 'rescale':
        line.append(`${significant(x, 7)} × ${significant(answer.scale, 7)} = `, element('strong', 'num explain-total-value', significant(answer.value, 7)));
        this.body.append(element('p', 'explain-note', t('The pixel (0 to 255) times 1/255, so the network works with values from 0 to 1.')), line);
        break;
      case 'flatten': {
        const [row, column, channel] = answer.source;
        this.body.append(
          element(
            'p',
            'explain-note',
            t('Flatten computes nothing: entry %(index)s is the value at row %(row)s, column %(column)s of map #%(channel)s of %(layer)s (read row by row, the maps of each cell side by side).', {
              index: at[0], row, column, channel, layer: answer.input_layer,
            }),
          ),
        );
        line.append(element('strong', 'num explain-total-value', significant(answer.value, 7)));
        this.body.append(line);
        break;
      }
      case 'input':
      default:
        this.body.append(element('p', 'explain-note', t('The input computes nothing: it is the pixel of the image the network saw, from 0 (background) to 255 (ink).')));
        line.append(element('strong', 'num explain-total-value', significant(answer.value, 7)));
        this.body.append(line);
    }
    if (answer.input_layer && answer.positions && operation !== 'input') {
      const where = answer.positions[0];
      this.body.append(this.#linkTo(answer.input_layer, where, t('How was %(value)s computed in %(layer)s?', { value: significant(x), layer: answer.input_layer })));
    }
  }

  #pool() {
    const answer = this.answer;
    const { height, width } = answer.window;
    const max = answer.operation === 'max-pool';
    this.#pictures({ channel: answer.at[2], box: answer.window, slide: true, stride: this.layers[this.index].settings.strides ?? this.layers[this.index].settings.pool_size });
    const texts = answer.inputs.map((value) => significant(value));
    const grid = numberGrid(texts, height, width, {
      titles: answer.inputs.map(String),
      classes: (i) => (max && i === answer.chosen ? 'chosen' : ''),
      label: t('pooling window'),
    });
    this.body.append(figure(t('Window'), grid));
    const line = element('p', 'explain-line explain-result');
    if (max) {
      line.append(`max(${texts.join(', ')}) = `, element('strong', 'num explain-total-value', significant(answer.value)));
      this.body.append(element('p', 'explain-note', t('Max pooling keeps the largest value of the window (marked).')), line);
      this.body.append(this.#linkTo(answer.input_layer, answer.positions[answer.chosen], t('How was %(value)s computed in %(layer)s?', { value: texts[answer.chosen], layer: answer.input_layer })));
    } else {
      line.append(`(${texts.join(' + ')}) / ${texts.length} = `, element('strong', 'num explain-total-value', significant(answer.value)));
      this.body.append(element('p', 'explain-note', t('Average pooling takes the mean of the window.')), line);
    }
  }

  #softmax() {
    const answer = this.answer;
    const k = answer.at[0];
    const total = answer.exponentials.reduce((sum, value) => sum + value, 0);
    this.body.append(
      element(
        'p',
        'explain-note',
        t('Softmax turns the ten scores z of %(layer)s into probabilities: p = exp(z) / sum of exp(z). Subtracting the largest score (%(shift)s) first changes no ratio and keeps exp from overflowing.', {
          layer: answer.input_layer, shift: significant(answer.shift),
        }),
      ),
    );
    const table = element('table', 'explain-terms');
    const head = element('tr');
    for (const text of [t('digit'), t('score z'), 'z − max', 'exp(z − max)']) head.append(element('th', null, text));
    const thead = element('thead');
    thead.append(head);
    const tbody = element('tbody');
    answer.inputs.forEach((score, digit) => {
      const row = element('tr', digit === k ? 'term chosen' : 'term');
      const link = element('td');
      link.append(this.#linkTo(answer.input_layer, [digit], String(digit)));
      const exponential = element('td', 'num product', scientific(answer.exponentials[digit]));
      exponential.title = String(answer.exponentials[digit]);
      row.append(link, element('td', 'num', significant(score, 6)), element('td', 'num', significant(score - answer.shift, 6)), exponential);
      tbody.append(row);
    });
    const sumRow = element('tr', 'sum');
    const label = element('td', null, t('sum'));
    label.colSpan = 3;
    // Enough digits that the small terms still show in the sum.
    sumRow.append(label, element('td', 'num', significant(total, 8)));
    tbody.append(sumRow);
    table.append(thead, tbody);
    const line = element('p', 'explain-line explain-result');
    line.append(
      `p(${k}) = ${scientific(answer.exponentials[k])} / ${significant(total, 8)} = `,
      element('strong', 'num explain-total-value', significant(answer.value, 7)),
    );
    this.body.append(table, line);
  }
}
