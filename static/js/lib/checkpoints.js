// The training time-lapse: a slider (and a play button) over the chosen network's checkpoints,
// from the untrained network (step-0) to the one served (final). The page's URL carries the
// checkpoint (?checkpoint=<name>, absent for final) and every API request of the page carries it
// too (network.js's apiUrl), so a page only has to read the drawing again when it changes:
//
//   connectCheckpoints({ onChange: (entry) => ... })   // entry: {name, step, epoch, accuracy}
//
// Another network (the model select) starts again at final: its checkpoints are its own.

import { getJson } from './api.js';
import { language, t } from './i18n.js';

const root = document.querySelector('[data-testid=checkpoints]');
const slider = root?.querySelector('[data-testid=checkpoint]');
const playButton = root?.querySelector('[data-testid=checkpoint-play]');
const label = root?.querySelector('[data-testid=checkpoint-label]');
const percent = new Intl.NumberFormat(language, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });

// How long each checkpoint stays on screen while playing: time for the page to read the drawing again.
export const PLAY_STEP_MS = 1200;

let models = null; // GET /api/models, once
let entries = []; // the chosen network's checkpoints, in training order
let listeners = [];
let playing = null; // the play timer

/** The network the page shows: the select's, or the page's own (the record page has no select). */
function modelName() {
  const select = document.querySelector('[data-testid=model-select]');
  return select?.value || document.body.dataset.model;
}

/** The checkpoint the page's URL names, or null for final. */
export function chosenCheckpoint() {
  return new URL(window.location.href).searchParams.get('checkpoint');
}

/** The chosen network's checkpoints as GET /api/models lists them (empty before they are loaded). */
export function checkpoints() {
  return entries;
}

/** What a checkpoint is, in a learner's words. */
export function describe(entry) {
  if (entry.name === 'final') return t('the network served (epoch %(epoch)s)', { epoch: Math.round(entry.epoch) });
  if (entry.step === 0) return t('untrained: random weights');
  if (entry.name.startsWith('step-')) return t('after %(count)s batches (%(fraction)s of the first epoch)', {
    count: entry.step, fraction: new Intl.NumberFormat(language, { style: 'percent', maximumFractionDigits: 0 }).format(entry.epoch),
  });
  return t('after epoch %(epoch)s', { epoch: Math.round(entry.epoch) });
}

function writeUrl(entry) {
  const page = new URL(window.location.href);
  if (entry.name === 'final') page.searchParams.delete('checkpoint');
  else page.searchParams.set('checkpoint', entry.name);
  window.history.replaceState(window.history.state, '', page);
  // The links to the other pages keep the checkpoint, as they keep the network.
  document.querySelectorAll('a[data-keeps-model]').forEach((link) => {
    const target = new URL(link.href, window.location.href);
    if (entry.name === 'final') target.searchParams.delete('checkpoint');
    else target.searchParams.set('checkpoint', entry.name);
    link.href = target.pathname + target.search;
  });
}

function showLabel(entry) {
  const accuracy = percent.format(entry.accuracy);
  label.replaceChildren();
  const what = document.createElement('strong');
  what.textContent = describe(entry);
  label.append(what, ' · ', t('%(accuracy)s of MNIST test digits read right', { accuracy }));
  slider.setAttribute('aria-valuetext', `${describe(entry)}, ${accuracy}`);
  root.dataset.checkpoint = entry.name;
  root.dataset.early = String(entry.name !== 'final' && entry.accuracy < 0.9);
}

function select(index, { notify = true } = {}) {
  const entry = entries[index];
  if (!entry) return;
  slider.value = String(index);
  showLabel(entry);
  writeUrl(entry);
  if (notify) listeners.forEach((listener) => listener(entry));
}

function stop() {
  if (playing === null) return;
  clearInterval(playing);
  playing = null;
  playButton.textContent = playButton.dataset.play;
  playButton.setAttribute('aria-pressed', 'false');
}

function play() {
  // From the start when at the end, so play always shows the whole training.
  if (Number(slider.value) >= entries.length - 1) select(0);
  playing = setInterval(() => {
    const next = Number(slider.value) + 1;
    if (next >= entries.length) stop();
    else select(next);
  }, PLAY_STEP_MS);
  playButton.textContent = playButton.dataset.pause;
  playButton.setAttribute('aria-pressed', 'true');
}

/** Show the slider for the chosen network (at the URL's checkpoint, or final). */
async function load({ notify }) {
  stop();
  models ??= (await getJson(root.dataset.modelsUrl)).models;
  const model = models.find((item) => item.name === modelName());
  entries = model?.checkpoints ?? [];
  root.hidden = entries.length < 2;
  if (root.hidden) return;
  slider.max = String(entries.length - 1);
  const asked = chosenCheckpoint();
  const index = entries.findIndex((entry) => entry.name === (asked ?? 'final'));
  // A checkpoint this network does not have (another network's, or a mistyped URL): final.
  select(index >= 0 ? index : entries.length - 1, { notify: notify && index < 0 && asked !== null });
}

/**
 * Show the time-lapse controls and call `onChange(entry)` whenever the checkpoint changes.
 * Returns a promise that settles once the slider shows the chosen network's checkpoints.
 */
export function connectCheckpoints({ onChange } = {}) {
  if (!root) return Promise.resolve();
  if (onChange) listeners.push(onChange);
  slider.addEventListener('input', () => {
    stop();
    select(Number(slider.value));
  });
  playButton.addEventListener('click', () => (playing === null ? play() : stop()));
  document.querySelector('[data-testid=model-select]')?.addEventListener('change', () => load({ notify: false }));
  return load({ notify: true }).catch((error) => {
    root.hidden = true;
    console.warn(`No checkpoints: ${error.message}`);
  });
}
