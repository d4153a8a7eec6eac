// The arithmetic panel of the layers page: how one number of one layer came to
// be, from /api/explain's float32 terms. The panel is the frame (title, pictures,
// the sliding window, links between cells); each operation's view is its own
// module in explain/ (conv.js, dense.js, pool.js, ...), formatting is explain/format.js.
//
// Every sum the panel shows adds up in the digits it shows: the value and the
// bias are rounded, the sum is their difference, and the terms of each sum
// are rounded so that they add up to it (each within one unit of the last
// digit; see arithmetic.js `apportion`). Each number's title holds it to
// float32's precision.

import { significant } from './arithmetic.js';
import { element } from './dom.js';
import { VIEWS } from './explain/index.js';
import { cellText, figure } from './explain/format.js';
import { paintMap } from './explain/paint.js';
import { t } from './i18n.js';

export { decimalsFor, scientific } from './explain/format.js';
export { paintMap } from './explain/paint.js';

const SLIDE_MS = 1400;

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
    this.enlarge.disabled = true; // nothing to enlarge until this cell's answer is here
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
    this.enlarge.disabled = false;
    this.enlarge.hidden = !(layer.spatial && layers.slice(0, index + 1).some((item) => item.kind === 'Conv2D'));
    this.#stopSlide();
    this.pictures.replaceChildren();
    this.body.replaceChildren();
    const render = VIEWS[answer.operation];
    if (render) render(this);
    else this.body.append(element('p', null, t('This layer passes its input on: value = %(value)s.', { value: significant(answer.value) })));
  }

  // --- What the views (explain/*.js) use: pictures of the input and the layer, links to other cells ---

  /** The layer this cell reads (the layer before, by the answer's input_layer). */
  inputLayer() {
    return this.layers.find((layer) => layer.name === this.answer.input_layer) ?? null;
  }

  /** The input the cell reads with its window outlined (sliding there when `slide`), and the layer with the cell marked. */
  showPictures({ channel, padding = 0, box, slide = false, stride = [1, 1] }) {
    const input = this.inputLayer();
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
      const shown = figure(caption, canvas);
      shown.append(this.#steps(layer, at));
      this.pictures.append(shown);
    }
  }

  /**
   * Step buttons beside the layer's map: a finger cannot hit one cell of a 28x28 map on a phone
   * (2.6 px in the band), so it taps near and steps, a cell at a time, to the one it wants.
   */
  #steps(layer, at) {
    const group = element('div', 'cell-steps');
    group.setAttribute('role', 'group');
    group.setAttribute('aria-label', t('Move the cell explained'));
    group.dataset.testid = 'cell-steps';
    const where = element('span', 'cell-steps-where', t('row %(row)s, column %(column)s', { row: at[0], column: at[1] }));
    const moves = [
      ['up', '↑', t('one cell up'), -1, 0],
      ['left', '←', t('one cell left'), 0, -1],
      ['right', '→', t('one cell right'), 0, 1],
      ['down', '↓', t('one cell down'), 1, 0],
    ];
    for (const [name, arrow, label, rows, columns] of moves) {
      const row = at[0] + rows;
      const column = at[1] + columns;
      const button = element('button', `cell-step cell-step-${name}`, arrow);
      button.type = 'button';
      button.dataset.step = name;
      button.setAttribute('aria-label', label);
      button.title = label;
      button.disabled = row < 0 || column < 0 || row >= layer.height || column >= layer.width;
      button.addEventListener('click', () => this.onChoose(layer.name, [row, column, at[2]], { focus: `step:${name}` }));
      group.append(button);
    }
    group.append(where);
    return group;
  }

  focusOutput() {
    this.pictures.querySelector('.explain-output')?.focus();
  }

  /** After a step: focus stays on the same step button (or the map, at an edge), so it can be pressed again. */
  focusStep(name) {
    const button = this.pictures.querySelector(`.cell-step[data-step="${name}"]`);
    if (button && !button.disabled) button.focus({ preventScroll: true });
    else this.focusOutput();
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

  /** A button that explains cell `at` of `layerName`. */
  linkTo(layerName, at, text) {
    const button = element('button', 'explain-link', text);
    button.type = 'button';
    button.dataset.layer = layerName;
    button.dataset.at = at.join(',');
    button.addEventListener('click', () => this.onChoose(layerName, at, { focus: 'panel' }));
    return button;
  }
}
