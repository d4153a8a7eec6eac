// The record page: choose a cell of the confusion matrix to see its test digits,
// each one a link that opens it inside the network (/layers?mnist=<index>).

import { describeError, getJson } from './lib/api.js';
import { connectCheckpointRecord } from './lib/checkpointrecord.js';
import { t } from './lib/i18n.js';
import { decodePixels, paintDigit } from './lib/mnist.js';
import { urlFor } from './lib/share.js';

const page = document.body.dataset;
const table = document.querySelector('[data-testid=confusion]');
const panel = document.querySelector('#cell-digits');
const title = document.querySelector('#cell-title');
const grid = document.querySelector('#cell-grid');
const more = document.querySelector('#cell-more');
const PAGE = 100;

let cell = null; // {label, predicted, shown, total}

function describe({ label, predicted, total }) {
  return label === predicted
    ? t('Test digits labelled %(label)s, read right: %(count)s', { label, count: total })
    : t('Test digits labelled %(label)s, read as %(predicted)s: %(count)s', { label, predicted, count: total });
}

function digitLink(digit) {
  const item = document.createElement('li');
  const link = document.createElement('a');
  link.className = 'test-digit';
  link.href = urlFor(page.layersUrl, { mnist: digit.index });
  link.dataset.index = String(digit.index);
  link.setAttribute('aria-label', t('Test digit #%(index)s, labelled %(label)s: open it inside the network', { index: digit.index, label: digit.label }));
  const canvas = document.createElement('canvas');
  paintDigit(canvas, decodePixels(digit.pixels));
  const caption = document.createElement('span');
  caption.textContent = `#${digit.index}`;
  link.append(canvas, caption);
  item.append(link);
  return item;
}

async function load(offset) {
  const query = new URLSearchParams({
    model: table.dataset.model,
    label: String(cell.label),
    predicted: String(cell.predicted),
    offset: String(offset),
    limit: String(PAGE),
  });
  const answer = await getJson(`${page.mnistUrl}?${query}`);
  cell.total = answer.total;
  cell.shown = offset + answer.digits.length;
  grid.append(...answer.digits.map(digitLink));
  title.textContent = describe(cell);
  more.hidden = cell.shown >= cell.total;
  more.textContent = t('Show more (%(shown)s of %(total)s shown)', { shown: cell.shown, total: cell.total });
}

async function open(button) {
  for (const pressed of table.querySelectorAll('button[aria-pressed=true]')) pressed.setAttribute('aria-pressed', 'false');
  button.setAttribute('aria-pressed', 'true');
  cell = { label: Number(button.dataset.label), predicted: Number(button.dataset.predicted), shown: 0, total: 0 };
  grid.replaceChildren();
  title.textContent = t('Loading…');
  panel.hidden = false;
  try {
    await load(0);
    panel.scrollIntoView({ block: 'nearest', behavior: matchMedia('(prefers-reduced-motion: reduce)').matches ? 'auto' : 'smooth' });
  } catch (error) {
    title.textContent = describeError(error);
  }
}

table.addEventListener('click', (event) => {
  const button = event.target.closest?.('button.cell');
  if (button) open(button);
});
more.addEventListener('click', async () => {
  try {
    await load(cell.shown);
  } catch (error) {
    title.textContent = describeError(error);
  }
});

// The training time-lapse: accuracy and confusion at each checkpoint.
connectCheckpointRecord();
