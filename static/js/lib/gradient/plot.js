// The loss on the drawing, step by step: one line per optimizer (SVG, no library).

import { t } from '../i18n.js';
import { number } from './format.js';

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 320;
const HEIGHT = 180;
const MARGIN = { left: 44, right: 10, top: 10, bottom: 26 };

function svg(tag, attributes, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
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
  const x = (step) => MARGIN.left + (step / steps) * (WIDTH - MARGIN.left - MARGIN.right);
  const y = (value) => HEIGHT - MARGIN.bottom - (Math.min(value, top) / top) * (HEIGHT - MARGIN.top - MARGIN.bottom);
  plot.append(
    svg('line', { class: 'axis', x1: MARGIN.left, y1: HEIGHT - MARGIN.bottom, x2: WIDTH - MARGIN.right, y2: HEIGHT - MARGIN.bottom }),
    svg('line', { class: 'axis', x1: MARGIN.left, y1: MARGIN.top, x2: MARGIN.left, y2: HEIGHT - MARGIN.bottom }),
    svg('text', { class: 'tick', x: MARGIN.left - 4, y: MARGIN.top + 8, 'text-anchor': 'end' }, number(top, { digits: 2 })),
    svg('text', { class: 'tick', x: MARGIN.left - 4, y: HEIGHT - MARGIN.bottom, 'text-anchor': 'end' }, '0'),
    svg('text', { class: 'tick', x: MARGIN.left, y: HEIGHT - 8 }, '0'),
    svg('text', { class: 'tick', x: WIDTH - MARGIN.right, y: HEIGHT - 8, 'text-anchor': 'end' }, String(steps)),
    svg('text', { class: 'tick', x: (WIDTH + MARGIN.left) / 2, y: HEIGHT - 8, 'text-anchor': 'middle' }, t('step')),
    svg('text', { class: 'tick', x: 4, y: MARGIN.top + 8 }, 'L'),
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
    const after = last === null ? t('diverged') : number(last);
    item.textContent = t('%(name)s: loss %(before)s → %(after)s', { name: line.name, before: number(line.losses[0]), after });
    key.append(item);
  });
}
