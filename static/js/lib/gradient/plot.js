// The loss on the drawing, step by step: one line per optimizer (SVG, no library).

import { t } from '../i18n.js';
import { number, slot, withNumbers } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 180;
// left: the least room for the y axis's labels; a wider top label (2.1 × 10⁻⁵) widens it.
const MARGIN = { left: 44, right: 10, top: 10, bottom: 26 };
const EDGE = 4; // between the SVG's left edge and the axis letter L
const LETTER_GAP = 6; // between L and the top label
const TICK_GAP = 4; // between a label and the axis
// Room per character when a label cannot be measured (the plot not laid out): in Chromium's fonts a label
// such as "1.1 × 10⁻⁶" takes about 5.3 per character at 10 px; 7 leaves room for a wider font.
const CHARACTER_WIDTH = 7;

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** `text`'s width in the plot's units, as drawn, or a generous estimate when it is not laid out. */
function widthOf(text) {
  let measured = 0;
  try {
    measured = text.getBBox().width;
  } catch {
    // Some browsers throw for an element that is not rendered.
  }
  return measured > 0 ? measured : text.textContent.length * CHARACTER_WIDTH;
}

/** Draw `series` ([{name, losses: [before, after step 1, ...], className}]) on `plot`; fill `key`. */
export function drawLossPlot(plot, key, series) {
  const title = plot.querySelector('title');
  plot.replaceChildren(title);
  key.replaceChildren();
  const values = series.flatMap((line) => line.losses).filter((value) => value !== null && Number.isFinite(value));
  if (!values.length) return;
  const steps = Math.max(1, ...series.map((line) => line.losses.length - 1));
  const top = Math.max(...values) * 1.05 || 1;
  // The axis letter at the left edge, then the top label: the axis stands right of both, however long the
  // label ("2.3", "0.00037", "2.1 × 10⁻⁵"), so neither runs over the other or out of the plot.
  const letter = svg('text', { class: 'tick', x: EDGE, y: MARGIN.top + 8 }, 'L');
  const topLabel = svg('text', { class: 'tick', y: MARGIN.top + 8, 'text-anchor': 'end' }, number(top, { digits: 2 }));
  plot.append(letter, topLabel);
  const left = Math.max(MARGIN.left, Math.ceil(EDGE + widthOf(letter) + LETTER_GAP + widthOf(topLabel) + TICK_GAP));
  topLabel.setAttribute('x', String(left - TICK_GAP));
  const x = (step) => left + (step / steps) * (WIDTH - left - MARGIN.right);
  const y = (value) => HEIGHT - MARGIN.bottom - (Math.min(value, top) / top) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  plot.append(
    svg('line', { class: 'axis', x1: left, y1: HEIGHT - MARGIN.bottom, x2: WIDTH - MARGIN.right, y2: HEIGHT - MARGIN.bottom }),
    svg('line', { class: 'axis', x1: left, y1: MARGIN.top, x2: left, y2: HEIGHT - MARGIN.bottom }),
    svg('text', { class: 'tick', x: left - TICK_GAP, y: HEIGHT - MARGIN.bottom, 'text-anchor': 'end' }, '0'),
    svg('text', { class: 'tick', x: left, y: HEIGHT - 8 }, '0'),
    svg('text', { class: 'tick', x: WIDTH - MARGIN.right, y: HEIGHT - 8, 'text-anchor': 'end' }, String(steps)),
    svg('text', { class: 'tick', x: (WIDTH + left) / 2, y: HEIGHT - 8, 'text-anchor': 'middle' }, t('step')),
  );
  series.forEach((line, index) => {
    const points = line.losses.map((value, step) => (value === null ? null : `${x(step).toFixed(1)},${y(value).toFixed(1)}`)).filter(Boolean);
    plot.append(svg('polyline', { class: `series series-${index}`, points: points.join(' ') }));
    for (const point of points) {
      const [cx, cy] = point.split(',');
      plot.append(svg('circle', { class: `series-dot series-${index}`, cx, cy, r: 2.5 }));
    }
    const item = document.createElement('li');
    item.className = `series-key series-${index}`;
    const last = line.losses[line.losses.length - 1];
    const after = last === null ? t('diverged') : slot(1);
    item.append(...withNumbers(t('%(name)s: loss %(before)s → %(after)s', { name: line.name, before: slot(0), after }), [number(line.losses[0]), number(last)]));
    key.append(item);
  });
}
