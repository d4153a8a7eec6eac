// The class page (teacher): drawings per digit, each network's accuracy on the class beside MNIST's,
// a confusion matrix per network whose cells open their drawings, the hardest digits, exports,
// deleting drawings or the class. Refreshed every few seconds while the page is visible.

import { describeError } from './lib/api.js';
import { forgetClass, request, teacherToken } from './lib/classroom.js';
import { language, t, tn } from './lib/i18n.js';
import { drawingThumbnail } from './lib/thumbnail.js';

const page = document.body.dataset;
const code = page.code;
const token = teacherToken(code);
const status = document.querySelector('[data-testid=class-status]');
const count = document.querySelector('[data-testid=drawing-count]');
const retention = document.querySelector('[data-testid=retention]');
const perDigit = document.querySelector('[data-testid=per-digit]');
const hardest = document.querySelector('[data-testid=hardest]');
const accuracy = document.querySelector('[data-testid=accuracy] tbody');
const finetuned = document.querySelector('[data-testid=finetuned]');
const modelSelect = document.querySelector('[data-testid=confusion-model]');
const confusion = document.querySelector('[data-testid=confusion]');
const cellPanel = document.querySelector('[data-testid=cell-drawings]');
const cellTitle = document.querySelector('#cell-title');
const cellGrid = document.querySelector('#cell-grid');
const closeCellButton = document.querySelector('[data-testid=close-cell]');
const REFRESH_MS = 4000;
const percent = new Intl.NumberFormat(language, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });
const numbers = new Intl.NumberFormat(language);
const dates = new Intl.DateTimeFormat(language, { dateStyle: 'long' });

let figures = null;
let shown = '';
let cell = null; // {label, predicted}

if (location.hash) history.replaceState(null, '', location.pathname + location.search); // the token leaves the address bar

function asPercent(value) {
  return value === null || value === undefined ? '–' : percent.format(value);
}

function renderPerDigit() {
  const most = Math.max(1, ...figures.per_digit);
  perDigit.replaceChildren(...figures.per_digit.map((value, digit) => {
    const item = document.createElement('li');
    item.dataset.digit = String(digit);
    item.innerHTML = '<span class="bar-label"></span><span class="bar-track"><span class="bar-fill"></span></span><span class="bar-value"></span>';
    item.className = 'bar-row';
    item.querySelector('.bar-label').textContent = String(digit);
    item.querySelector('.bar-fill').style.width = `${(100 * value) / most}%`;
    item.querySelector('.bar-value').textContent = numbers.format(value);
    item.setAttribute('aria-label', tn('%(digit)s: %(num)s drawing', '%(digit)s: %(num)s drawings', value, { digit }));
    return item;
  }));
  hardest.replaceChildren(...figures.hardest.slice(0, 3).map((entry) => {
    const item = document.createElement('li');
    item.textContent = tn('%(digit)s: read right %(percent)s of the time (%(num)s drawing)',
      '%(digit)s: read right %(percent)s of the time (%(num)s drawings)', entry.drawings,
      { digit: entry.digit, percent: asPercent(entry.accuracy) });
    return item;
  }));
  if (!figures.hardest.length) {
    const item = document.createElement('li');
    item.className = 'none';
    item.textContent = figures.drawings
      ? t('No digit was misread: every network read every drawing right.')
      : t('No drawings yet.');
    hardest.append(item);
  }
}

function renderAccuracy() {
  accuracy.replaceChildren(...Object.entries(figures.models).map(([name, model]) => {
    const row = document.createElement('tr');
    row.dataset.model = name;
    const cells = [name, asPercent(model.accuracy), asPercent(model.mnist_accuracy)];
    cells.forEach((text, index) => {
      const cellElement = document.createElement(index ? 'td' : 'th');
      if (!index) cellElement.scope = 'row';
      cellElement.textContent = text;
      row.append(cellElement);
    });
    return row;
  }));
  const tuned = figures.finetuned;
  finetuned.hidden = !tuned;
  if (tuned) {
    finetuned.replaceChildren();
    const heading = document.createElement('h3');
    heading.textContent = t('Retrained on this class: %(name)s', { name: tuned.model });
    const lines = document.createElement('ul');
    for (const text of [
      t('On %(count)s held-out drawings of this class: %(before)s before, %(after)s after (%(base)s fine-tuned)',
        { count: tuned.held_out, before: asPercent(tuned.before.class), after: asPercent(tuned.after.class), base: tuned.base }),
      t('On MNIST’s 10,000 test digits: %(before)s before, %(after)s after',
        { before: asPercent(tuned.before.mnist), after: asPercent(tuned.after.mnist) }),
    ]) {
      const item = document.createElement('li');
      item.textContent = text;
      lines.append(item);
    }
    finetuned.append(heading, lines);
  }
}

function renderModels() {
  const names = Object.keys(figures.models);
  const chosen = names.includes(modelSelect.value) ? modelSelect.value : names[0];
  modelSelect.replaceChildren(...names.map((name) => new Option(name, name, false, name === chosen)));
  renderConfusion();
}

function renderConfusion() {
  const model = figures.models[modelSelect.value];
  // A refresh redraws the matrix: a keyboard user keeps their place on the same cell.
  const focused = confusion.contains(document.activeElement) ? document.activeElement.dataset : null;
  confusion.replaceChildren();
  if (!model) return;
  const head = confusion.createTHead().insertRow();
  const corner = document.createElement('th');
  corner.className = 'corner';
  corner.innerHTML = '<span></span><span></span>';
  corner.children[0].textContent = t('drawn ↓');
  corner.children[1].textContent = t('read →');
  head.append(corner);
  for (let digit = 0; digit < 10; digit += 1) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = String(digit);
    head.append(th);
  }
  const body = confusion.createTBody();
  model.confusion.forEach((row, label) => {
    const tr = body.insertRow();
    const th = document.createElement('th');
    th.scope = 'row';
    th.textContent = String(label);
    tr.append(th);
    row.forEach((value, predicted) => {
      const td = tr.insertCell();
      if (label === predicted) td.className = 'diagonal';
      else if (value) td.className = 'heat-1';
      if (!value) {
        td.textContent = '·';
        return;
      }
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'cell';
      button.textContent = numbers.format(value);
      button.dataset.label = String(label);
      button.dataset.predicted = String(predicted);
      button.setAttribute('aria-pressed', String(cell?.label === label && cell?.predicted === predicted));
      button.setAttribute('aria-label', tn('%(num)s drawing of %(label)s read as %(predicted)s',
        '%(num)s drawings of %(label)s read as %(predicted)s', value, { label, predicted }));
      button.addEventListener('click', () => openCell(label, predicted, { focus: true }));
      td.append(button);
      if (focused && Number(focused.label) === label && Number(focused.predicted) === predicted) button.focus();
    });
  });
}

function cellButton(label, predicted) {
  return confusion.querySelector(`button.cell[data-label="${label}"][data-predicted="${predicted}"]`);
}

function closeCell() {
  if (!cell) return;
  const { label, predicted } = cell;
  cell = null;
  cellPanel.hidden = true;
  for (const button of confusion.querySelectorAll('button.cell')) button.setAttribute('aria-pressed', 'false');
  (cellButton(label, predicted) ?? modelSelect).focus(); // back where the teacher was
}

async function openCell(label, predicted, { focus = false } = {}) {
  cell = { label, predicted };
  for (const button of confusion.querySelectorAll('button.cell')) {
    button.setAttribute('aria-pressed', String(Number(button.dataset.label) === label && Number(button.dataset.predicted) === predicted));
  }
  const query = new URLSearchParams({ label, model: modelSelect.value, predicted, limit: '200' });
  try {
    const answer = await request(`${page.classUrl}/drawings?${query}`, { token });
    cellTitle.textContent = tn('%(num)s drawing of %(label)s that %(model)s read as %(predicted)s',
      '%(num)s drawings of %(label)s that %(model)s read as %(predicted)s', answer.total,
      { label, model: modelSelect.value, predicted });
    // A refresh redraws the drawings: focus on one of them stays on it (or on the title if it went).
    const focusedId = cellGrid.contains(document.activeElement) ? document.activeElement.closest('li')?.dataset.id : null;
    cellGrid.replaceChildren(...answer.drawings.map(thumbnail));
    cellPanel.hidden = false;
    if (focusedId) {
      (cellGrid.querySelector(`li[data-id="${CSS.escape(focusedId)}"] button`) ?? cellTitle).focus();
    } else if (focus) {
      cellTitle.focus(); // a keyboard user hears what opened, and Tab goes on to Close and the drawings
    }
  } catch (error) {
    status.textContent = describeError(error);
  }
}

function thumbnail(drawing) {
  return drawingThumbnail(drawing, {
    imageLabel: t('a drawing of %(label)s', { label: drawing.label }),
    deleteText: t('Delete'),
    deleteLabel: t('Delete this drawing of %(label)s', { label: drawing.label }),
    deleteTestid: 'delete-drawing',
    onDelete: async (item) => {
      try {
        await request(`${page.classUrl}/drawings/${encodeURIComponent(drawing.id)}`, { method: 'DELETE', token });
        const next = item.nextElementSibling ?? item.previousElementSibling;
        item.remove();
        (next?.querySelector('button') ?? cellTitle).focus(); // the keyboard stays in the panel
        status.textContent = t('The drawing was deleted.');
        refresh();
      } catch (error) {
        status.textContent = describeError(error);
      }
    },
  });
}

function render() {
  count.textContent = numbers.format(figures.drawings);
  retention.textContent = figures.next_deletion
    ? t('the oldest drawing is deleted on %(date)s', { date: dates.format(new Date(figures.next_deletion)) })
    : t('each drawing is deleted that long after it was drawn');
  renderPerDigit();
  renderAccuracy();
  renderModels();
}

async function refresh() {
  if (!token) return;
  try {
    const answer = await request(page.classUrl, { token });
    const text = JSON.stringify(answer);
    if (text !== shown) {
      shown = text;
      figures = answer;
      render();
      if (cell) openCell(cell.label, cell.predicted);
    }
    document.body.dataset.loaded = 'true';
    if (status.dataset.kind === 'error') {
      status.textContent = '';
      delete status.dataset.kind;
    }
  } catch (error) {
    status.dataset.kind = 'error';
    status.textContent = error.status === 403 || error.status === 401
      ? t('This link does not open class %(code)s: use the teacher link you were given when the class was opened.', { code })
      : describeError(error);
  }
}

async function exportAs(format) {
  try {
    const blob = await request(`${page.classUrl}/export?format=${format}`, { token });
    const link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = `class-${code.toLowerCase()}-${format}.zip`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
  } catch (error) {
    status.textContent = describeError(error);
  }
}

for (const button of document.querySelectorAll('[data-format]')) {
  button.addEventListener('click', () => exportAs(button.dataset.format));
}
closeCellButton.addEventListener('click', closeCell);
cellPanel.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    event.preventDefault();
    closeCell();
  }
});
modelSelect.addEventListener('change', () => {
  cell = null;
  cellPanel.hidden = true;
  renderConfusion();
});
document.querySelector('[data-testid=delete-class]').addEventListener('click', async () => {
  if (!window.confirm(t('Delete class %(code)s and every drawing of it? This cannot be undone.', { code }))) return;
  clearInterval(timer);
  try {
    await request(page.classUrl, { method: 'DELETE', token });
    forgetClass(code);
    clearInterval(timer);
    document.body.dataset.deleted = 'true';
    status.textContent = t('Class %(code)s and all its drawings were deleted.', { code });
  } catch (error) {
    status.textContent = describeError(error);
  }
});

if (!token) {
  status.dataset.kind = 'error';
  status.textContent = t('This page needs the teacher link you were given when the class was opened.');
}
refresh();
const timer = setInterval(() => {
  if (document.visibilityState === 'visible') refresh();
}, REFRESH_MS);
