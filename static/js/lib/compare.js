// The drawing page's strip of every network's reading of the same drawing.
//
// The server answers for all of them in the same request as the chosen
// network's reading (POST /api/predict?compare=1): the drawing is decoded and
// preprocessed once, and each network adds only its own forward pass.

import { language, t } from './i18n.js';

const percent = new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 });

/** What stands beside the digit: how sure, unless nothing was read (the network's blind pick is no confidence). */
function confidenceText(reading) {
  if (!reading || reading.reason === 'empty') return '';
  if (reading.reason === 'not-a-digit') return t('not a digit');
  return percent.format(reading.confidence);
}

/** Show each network's digit and confidence; `readings` null clears the strip. */
export function renderCompare(list, readings) {
  const byName = new Map((readings ?? []).map((reading) => [reading.model, reading]));
  for (const item of list.querySelectorAll('li[data-model]')) {
    const reading = byName.get(item.dataset.model);
    const digit = item.querySelector('[data-role=digit]');
    const confidence = item.querySelector('[data-role=confidence]');
    item.dataset.reason = reading ? (reading.reason ?? 'read') : 'blank';
    digit.textContent = reading ? (reading.digit === null ? '?' : String(reading.digit)) : '';
    confidence.textContent = confidenceText(reading);
  }
}

/** Mark the chosen network's entry. */
export function markChosen(list, name) {
  for (const item of list.querySelectorAll('li[data-model]')) {
    if (item.dataset.model === name) item.setAttribute('aria-current', 'true');
    else item.removeAttribute('aria-current');
  }
}

/** Call `onPick(name)` when an entry of the strip is clicked (or pressed with Enter or Space). */
export function connectCompare(list, onPick) {
  list.addEventListener('click', (event) => {
    const item = event.target.closest('li[data-model]');
    if (item) onPick(item.dataset.model);
  });
}
