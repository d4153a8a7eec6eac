// The record page's time-lapse: MNIST test accuracy over the checkpoints (an SVG curve, the chosen
// checkpoint marked) and the confusion matrix at the chosen checkpoint, from GET /api/checkpoints.

import { getJson } from './api.js';
import { language, t } from './i18n.js';
import { chosenCheckpoint, connectCheckpoints, describe } from './checkpoints.js';

const section = document.querySelector('[data-testid=checkpoint-record]');
const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 340;
const HEIGHT = 180;
const LABEL_GAP = 24; // the least room between two axis labels' centres (a two-digit label is ~14 wide)
const percent = new Intl.NumberFormat(language, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });

function element(name, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * The points of the curve, in training order: every checkpoint but 'final', which is not a point of its
 * own but the epoch whose weights are served (the same step; digit-lens: its best epoch on validation,
 * so later epochs come after it). A 'final' matching no other checkpoint is the last point.
 */
function curvePoints(entries) {
  const points = entries.filter((entry) => entry.name !== 'final');
  const final = entries.find((entry) => entry.name === 'final');
  if (!final) return { points, served: -1 };
  const served = points.findLastIndex((entry) => entry.step === final.step && entry.accuracy === final.accuracy);
  if (served >= 0) return { points, served };
  return { points: [...points, final], served: points.length };
}

/** The points labelled on the axis: the untrained network, the first epoch, every fifth and the last. */
function axisLabels(points, x) {
  const epochs = points.map((entry, index) => ({ entry, index })).filter(({ entry }) => entry.name.startsWith('epoch-'));
  const last = epochs.at(-1);
  const labels = points[0]?.step === 0 ? [{ index: 0, text: '0' }] : [];
  for (const { entry, index } of epochs) {
    const epoch = Math.round(entry.epoch);
    // A fifth epoch close to the last is left unlabelled: the two labels would overlap.
    const shown = entry === last.entry || ((epoch === 1 || epoch % 5 === 0) && x(last.index) - x(index) >= LABEL_GAP);
    if (shown) labels.push({ index, text: String(epoch), epoch });
  }
  return labels;
}

/** Checkpoints at equal spacing (the first batches would otherwise crowd at 0), accuracy 0-100%. */
function drawCurve(svg, entries, chosen) {
  const { points, served } = curvePoints(entries);
  const x = (index) => (index / Math.max(1, points.length - 1)) * WIDTH;
  const y = (accuracy) => (1 - accuracy) * HEIGHT;
  const nodes = [];
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    nodes.push(element('line', { class: 'grid', x1: 0, x2: WIDTH, y1: y(tick), y2: y(tick) }));
    nodes.push(element('text', { x: -6, y: y(tick) + 4, 'text-anchor': 'end' }, `${tick * 100}%`));
  }
  nodes.push(element('polyline', { class: 'curve', points: points.map((entry, index) => `${x(index)},${y(entry.accuracy)}`).join(' ') }));
  points.forEach((entry, index) => {
    const dot = element('circle', { class: 'point', cx: x(index), cy: y(entry.accuracy), r: 2.5, 'data-checkpoint': entry.name });
    dot.append(element('title', {}, `${describe(index === served ? entries.at(-1) : entry)}: ${percent.format(entry.accuracy)}`));
    nodes.push(dot);
  });
  for (const { index, text, epoch } of axisLabels(points, x)) {
    const attributes = { x: x(index), y: HEIGHT + 14, 'text-anchor': 'middle', 'data-checkpoint': points[index].name };
    nodes.push(element('text', epoch === undefined ? attributes : { ...attributes, 'data-epoch': epoch }, text));
  }
  nodes.push(element('text', { x: WIDTH / 2, y: HEIGHT + 28, 'text-anchor': 'middle' }, t('epoch')));
  if (served >= 0) {
    // The network served, flagged above its point: it is one of the epochs, not a step after the last.
    nodes.push(element('line', { class: 'served', x1: x(served), x2: x(served), y1: -6, y2: y(points[served].accuracy) - 3 }));
    nodes.push(element('text', { class: 'served', x: x(served), y: -9, 'text-anchor': 'middle', 'data-testid': 'checkpoint-served', 'data-checkpoint': points[served].name }, t('final')));
  }
  const index = chosen === 'final' ? served : points.findIndex((entry) => entry.name === chosen);
  if (index >= 0) {
    nodes.push(element('line', { class: 'marker', x1: x(index), x2: x(index), y1: 0, y2: HEIGHT }));
    nodes.push(element('circle', { class: 'marker-dot', cx: x(index), cy: y(points[index].accuracy), r: 5, 'data-testid': 'checkpoint-marker' }));
  }
  svg.replaceChildren(...nodes);
}

/** The same colour steps as the record's own matrix (webapp/record.py _heat). */
function heat(count, total) {
  if (!count || !total) return 0;
  const share = count / total;
  const bounds = [0.002, 0.01, 0.05, 0.5];
  const step = bounds.findIndex((bound) => share < bound);
  return step < 0 ? 5 : step + 1;
}

function drawConfusion(table, matrix) {
  const head = document.createElement('thead');
  const top = document.createElement('tr');
  const corner = document.createElement('th');
  corner.className = 'corner';
  corner.textContent = t('true ↓ read →');
  top.append(corner);
  matrix.forEach((_, digit) => {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(digit);
    top.append(th);
  });
  head.append(top);
  const body = document.createElement('tbody');
  matrix.forEach((row, label) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = String(label);
    tr.append(th);
    const total = row.reduce((sum, count) => sum + count, 0);
    row.forEach((count, predicted) => {
      const td = document.createElement('td');
      td.className = `heat-${heat(count, total)}${label === predicted ? ' diagonal' : ''}`;
      td.textContent = count ? String(count) : '';
      tr.append(td);
    });
    body.append(tr);
  });
  table.replaceChildren(head, body);
}

/** Fill the record page's time-lapse section and follow the slider. */
export async function connectCheckpointRecord() {
  if (!section) return;
  const answer = await getJson(section.dataset.checkpointsUrl);
  const entries = answer.checkpoints;
  if (entries.length < 2) return;
  const svg = section.querySelector('svg');
  const show = (name) => {
    const entry = entries.find((item) => item.name === name) ?? entries[entries.length - 1];
    drawCurve(svg, entries, entry.name);
    const right = entry.confusion.reduce((sum, row, digit) => sum + row[digit], 0);
    section.querySelector('[data-testid=checkpoint-accuracy]').textContent = t(
      '%(checkpoint)s: %(accuracy)s of MNIST test digits read right (%(right)s of %(total)s).',
      { checkpoint: describe(entry), accuracy: percent.format(entry.accuracy), right: right.toLocaleString(language), total: answer.test_images.toLocaleString(language) },
    );
    drawConfusion(section.querySelector('[data-testid=checkpoint-confusion]'), entry.confusion);
    section.dataset.checkpoint = entry.name;
  };
  section.hidden = false;
  show(chosenCheckpoint() ?? 'final');
  await connectCheckpoints({ onChange: (entry) => show(entry.name) });
  show(chosenCheckpoint() ?? 'final');
}
