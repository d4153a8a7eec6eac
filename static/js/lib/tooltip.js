// The layers page's hover tooltip: a cell's value (as the 8-bit encoding has it) and the input pixels it sees.

import { t } from './i18n.js';
import { fieldOf } from './receptive.js';
import { renderImage } from './render.js';

/**
 * A value from /api/features is 8-bit: within half a step of the truth. Show
 * it with the decimals that step supports, as "≈"; the panel has it exact.
 */
export function approximate(layer, channel, value) {
  const step = (layer.channelMax[channel] - layer.channelMin[channel]) / 255;
  const decimals = step > 0 ? Math.min(6, Math.max(0, Math.ceil(-Math.log10(step)))) : 0;
  return `≈ ${value.toFixed(decimals).replace('-', '−')}`;
}

/**
 * What the tooltip says of `cell` {row, column} of `canvas` (a map or strip of layer `index`):
 * {text, source?, field}, field being the input rectangle the cell sees (fields: receptiveFields()).
 */
export function describeCell(layers, fields, index, canvas, cell) {
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

/** The tooltip element `node` (holding .tooltip-text, a canvas and .tooltip-field). */
export class CellTooltip {
  constructor(node) {
    this.node = node;
    this.text = node.querySelector('.tooltip-text');
    this.input = node.querySelector('canvas');
  }

  /** Show `description` (from describeCell) beside the pointer, over the input image `input` with the field outlined. */
  show(event, description, input) {
    this.text.textContent = description.source ? `${description.text} ${description.source}` : description.text;
    renderImage(this.input, input ? toRows(input) : null, { grid: false });
    const context = this.input.getContext('2d');
    const cell = this.input.width / input.height;
    if (description.field) {
      const { top, left, height, width } = description.field;
      context.strokeStyle = '#ffd000';
      context.lineWidth = 2;
      context.strokeRect(left * cell + 1, top * cell + 1, width * cell - 2, height * cell - 2);
    }
    this.node.querySelector('.tooltip-field').textContent = description.field
      ? t('sees input rows %(top)s–%(bottom)s, columns %(left)s–%(right)s; click for the exact value and how it was computed', {
          top: description.field.top,
          bottom: description.field.top + description.field.height - 1,
          left: description.field.left,
          right: description.field.left + description.field.width - 1,
        })
      : t('sees the whole input; click for the exact value and how it was computed');
    this.node.hidden = false;
    const margin = 14;
    const { innerWidth, innerHeight } = window;
    const box = this.node.getBoundingClientRect();
    const x = Math.min(event.clientX + margin, innerWidth - box.width - 4);
    const y = event.clientY + margin + box.height > innerHeight ? event.clientY - box.height - margin : event.clientY + margin;
    this.node.style.transform = `translate(${Math.max(4, x)}px, ${Math.max(4, y)}px)`;
  }

  hide() {
    this.node.hidden = true;
  }
}

function toRows(layer) {
  const rows = [];
  for (let row = 0; row < layer.height; row += 1) {
    rows.push(Array.from(layer.channel(0).subarray(row * layer.width, (row + 1) * layer.width), Math.round));
  }
  return rows;
}
