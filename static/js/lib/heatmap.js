// Attribution maps drawn over the image the network saw: the drawing as ink on paper, the
// map's colour on top (red: the score's side, blue: against it; the stronger, the more opaque),
// a colour key with its numbers, and a cursor on the chosen cell.

import { language } from './i18n.js';

export const CELL = 10; // canvas pixels per input pixel

const RED = [203, 24, 29];
const BLUE = [33, 102, 172];
const OPACITY = 0.88; // at the map's largest magnitude: the ink still shows through a little

const significant = new Intl.NumberFormat(language, { maximumSignificantDigits: 3 });

/** A number as the page shows it: three significant digits, a true minus sign. */
export function formatValue(value) {
  if (!Number.isFinite(value)) return String(value);
  if (value !== 0 && Math.abs(value) < 1e-4) return value.toExponential(2).replaceAll('-', '−');
  return significant.format(value === 0 ? 0 : value).replace('-', '−'); // −0 (a blank pixel times a negative gradient) is 0
}

const fourDigits = new Intl.NumberFormat(language, { minimumSignificantDigits: 4, maximumSignificantDigits: 4 });

/** A number with four significant digits, to compare two numbers that should agree (a sum and a difference). */
export function formatPrecise(value) {
  return fourDigits.format(value === 0 ? 0 : value).replace('-', '−');
}

/** The largest magnitude of a map (rows of numbers); 0 for a map of zeros. */
export function largest(map) {
  let limit = 0;
  for (const row of map) for (const value of row) limit = Math.max(limit, Math.abs(value));
  return limit;
}

function cssColour(element, name, fallback) {
  const text = getComputedStyle(element).getPropertyValue(name).trim();
  const match = /^#([0-9a-f]{6})$/i.exec(text);
  if (!match) return fallback;
  const number = parseInt(match[1], 16);
  return [(number >> 16) & 255, (number >> 8) & 255, number & 255];
}

/**
 * Paint `map` (H rows of W numbers) over `input` (the image the network saw, 0..255) on `canvas`,
 * CELL canvas pixels per input pixel. `limit` is the magnitude of full colour (default: the
 * map's largest). `cursor` {row, column} is outlined; `marked` {row, column} is the chosen cell.
 */
export function paintMap(canvas, input, map, { limit = largest(map), cursor = null, marked = null } = {}) {
  const height = input.length;
  const width = input[0].length;
  if (canvas.width !== width * CELL || canvas.height !== height * CELL) {
    canvas.width = width * CELL;
    canvas.height = height * CELL;
  }
  const paper = cssColour(canvas, '--heat-paper', [255, 255, 255]);
  const ink = cssColour(canvas, '--heat-ink', [70, 72, 90]);
  const small = new OffscreenCanvas(width, height);
  const smallContext = small.getContext('2d');
  const image = smallContext.createImageData(width, height);
  for (let row = 0; row < height; row += 1) {
    for (let column = 0; column < width; column += 1) {
      const darkness = input[row][column] / 255;
      const value = map ? map[row][column] : 0;
      const strength = limit > 0 ? Math.min(1, Math.abs(value) / limit) : 0;
      const heat = value >= 0 ? RED : BLUE;
      const alpha = OPACITY * Math.sqrt(strength); // square root: small values stay visible
      const index = (row * width + column) * 4;
      for (let channel = 0; channel < 3; channel += 1) {
        const base = paper[channel] + (ink[channel] - paper[channel]) * darkness;
        image.data[index + channel] = Math.round(base * (1 - alpha) + heat[channel] * alpha);
      }
      image.data[index + 3] = 255;
    }
  }
  smallContext.putImageData(image, 0, 0);
  const context = canvas.getContext('2d');
  context.imageSmoothingEnabled = false;
  context.drawImage(small, 0, 0, width * CELL, height * CELL);
  for (const [cell, colour, line] of [[marked, '#ffb000', 3], [cursor, cssOutline(canvas), 2]]) {
    if (!cell) continue;
    context.strokeStyle = colour;
    context.lineWidth = line;
    context.strokeRect(cell.column * CELL + line / 2, cell.row * CELL + line / 2, CELL - line, CELL - line);
  }
}

function cssOutline(canvas) {
  return getComputedStyle(canvas).getPropertyValue('--heat-cursor').trim() || '#111';
}

/** The colour key under a map: from −limit (blue) through 0 to +limit (red); unsigned maps from 0. */
export function renderKey(node, limit, { signed = true } = {}) {
  const bar = document.createElement('span');
  bar.className = signed ? 'heat-bar signed' : 'heat-bar';
  const low = document.createElement('span');
  low.className = 'heat-low num';
  low.textContent = signed ? formatValue(-limit) : '0';
  const middle = document.createElement('span');
  middle.className = 'heat-zero num';
  middle.textContent = signed ? '0' : '';
  const high = document.createElement('span');
  high.className = 'heat-high num';
  high.textContent = `${limit > 0 ? '+' : ''}${formatValue(limit)}`;
  const labels = document.createElement('span');
  labels.className = 'heat-labels';
  labels.append(low, middle, high);
  node.replaceChildren(bar, labels);
}

/** The input pixel {row, column} under a pointer event on a map's canvas, or null outside it. */
export function cellAt(canvas, event) {
  const box = canvas.getBoundingClientRect();
  const size = canvas.width / CELL;
  const column = Math.floor(((event.clientX - box.left) / box.width) * size);
  const row = Math.floor(((event.clientY - box.top) / box.height) * size);
  if (row < 0 || column < 0 || row >= size || column >= size) return null;
  return { row, column };
}
