// A student's page: draw on the usual pad, say which digit it is, tick consent for this drawing,
// keep it for the class and see how every network read it; delete one's own drawings.

import { describeError } from './lib/api.js';
import { myDrawings, request, saveMyDrawings } from './lib/classroom.js';
import { language, t } from './lib/i18n.js';
import { Pad, strokesToBlob } from './lib/pad.js';
import { drawingThumbnail } from './lib/thumbnail.js';

const page = document.body.dataset;
const code = page.code;
const pad = new Pad(document.querySelector('[data-testid=pad]'));
const hint = document.querySelector('#pad-hint');
const undoButton = document.querySelector('[data-testid=undo]');
const clearButton = document.querySelector('[data-testid=clear]');
const consent = document.querySelector('[data-testid=consent]');
const keep = document.querySelector('[data-testid=keep]');
const keepStatus = document.querySelector('[data-testid=keep-status]');
const joinStatus = document.querySelector('[data-testid=join-status]');
const readings = document.querySelector('[data-testid=readings]');
const mine = document.querySelector('[data-testid=my-drawings]');
const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });
let joined = false;
let sending = false;

function chosenLabel() {
  return document.querySelector('input[name=label]:checked')?.value ?? null;
}

function update() {
  undoButton.disabled = !pad.canUndo;
  clearButton.disabled = pad.isEmpty;
  hint.hidden = !pad.isEmpty;
  keep.disabled = sending || !joined || pad.isEmpty || chosenLabel() === null || !consent.checked;
}

function describeReading(reading) {
  if (reading.digit === null) return t('no digit read');
  return t('%(digit)s, %(percent)s sure', { digit: reading.digit, percent: percent.format(reading.confidence) });
}

function showReadings(answer) {
  readings.replaceChildren(
    ...Object.entries(answer.readings).map(([name, reading]) => {
      const item = document.createElement('li');
      item.dataset.model = name;
      item.dataset.right = String(reading.digit === answer.label);
      const title = document.createElement('span');
      title.className = 'reading-name';
      title.textContent = name;
      const value = document.createElement('span');
      value.className = 'reading-value';
      value.textContent = describeReading(reading);
      item.append(title, value);
      return item;
    }),
  );
}

function thumbnail(drawing) {
  return drawingThumbnail(drawing, {
    imageLabel: t('your drawing of %(label)s', { label: drawing.label }),
    caption: String(drawing.label),
    deleteText: t('Delete'),
    deleteLabel: t('Delete your drawing of %(label)s', { label: drawing.label }),
    deleteTestid: 'delete-mine',
    onDelete: () => removeMine(drawing),
  });
}

function showMine() {
  const drawings = myDrawings(code);
  mine.replaceChildren(...drawings.map(thumbnail));
  if (!drawings.length) {
    const empty = document.createElement('li');
    empty.className = 'empty';
    empty.textContent = t('None yet.');
    mine.append(empty);
  }
}

async function removeMine(drawing) {
  try {
    await request(`${page.drawingsUrl}/${encodeURIComponent(drawing.id)}`, { method: 'DELETE', token: drawing.token });
    keepStatus.textContent = t('Your drawing of %(label)s was deleted.', { label: drawing.label });
  } catch (error) {
    // 403: the teacher or the retention period deleted it already; either way it is gone.
    if (error.status !== 403) {
      keepStatus.textContent = describeError(error);
      return;
    }
    keepStatus.textContent = t('That drawing was already deleted.');
  }
  saveMyDrawings(code, myDrawings(code).filter((kept) => kept.id !== drawing.id));
  showMine();
  mine.querySelector('button.delete')?.focus();
}

async function keepDrawing() {
  const label = chosenLabel();
  if (pad.isEmpty || label === null || !consent.checked) return;
  sending = true;
  update();
  keepStatus.textContent = t('Sending…');
  try {
    const blob = await strokesToBlob(pad.drawing);
    const query = new URLSearchParams({ label, consent: 'true' });
    const answer = await request(`${page.drawingsUrl}?${query}`, { method: 'POST', body: blob, type: 'image/png' });
    saveMyDrawings(code, [{ id: answer.id, token: answer.delete_token, label: answer.label, pixels: answer.pixels },
      ...myDrawings(code)]);
    showReadings(answer);
    showMine();
    keepStatus.textContent = t('Kept. Draw the next digit.');
    pad.clear();
    consent.checked = false; // consent is given for each drawing
  } catch (error) {
    keepStatus.textContent = {
      'consent-required': t('Tick the box to keep the drawing.'),
      'unknown-class': t('No class has the code %(code)s. Check the code on the board.', { code }),
      'empty-drawing': t('Draw the digit first.'),
      'rate-limited': t('The class is sending many drawings right now. Wait a moment and try again.'),
      'class-full': t('This class keeps as many drawings as it can. Ask your teacher.'),
    }[error.code] ?? describeError(error);
  } finally {
    sending = false;
    update();
  }
}

pad.addEventListener('change', update);
pad.addEventListener('strokeend', update);
consent.addEventListener('change', update);
document.querySelector('[data-testid=label]').addEventListener('change', update);
undoButton.addEventListener('click', () => pad.undo());
clearButton.addEventListener('click', () => pad.clear());
keep.addEventListener('click', keepDrawing);
document.addEventListener('keydown', (event) => {
  const inField = event.target instanceof Element && event.target.closest('input, select, textarea');
  if (inField && event.target.type !== 'radio' && event.target.type !== 'checkbox') return;
  if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 'z') {
    event.preventDefault();
    pad.undo();
  } else if (event.key === 'Escape') {
    pad.clear();
  }
});

async function join() {
  try {
    await request(page.joinUrl);
    joined = true;
    joinStatus.textContent = t('Draw a digit, choose which digit it is, and tick the box to keep it for the class.');
  } catch (error) {
    joinStatus.dataset.kind = 'error';
    joinStatus.textContent = error.code === 'unknown-class'
      ? t('No class has the code %(code)s. Check the code on the board.', { code })
      : describeError(error);
  }
  update();
}

showMine();
update();
join();
