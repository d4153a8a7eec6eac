// Painting a layer's map for the arithmetic panel: its cells, the padding's zeros hatched, the window outlined.

import { extent, scaleFor } from '../colours.js';

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
