// What both pages do with a pad: read it live, Undo/Clear buttons and keys,
// the picture in the page's URL, and open on the picture the URL (or the
// last visit) carries.

import { t } from './i18n.js';
import { fetchDigit } from './mnist.js';
import { pictureFromQuery, writeUrl } from './share.js';
import { loadPicture, savePicture } from './store.js';

// Focus in one of these means Esc, Delete and Ctrl+Z belong to it, not to the pad.
const OWN_KEYS = 'input, select, textarea, [contenteditable]:not([contenteditable=false]), dialog, [role=dialog]';

/** Whether a key pressed with focus on `target` is meant for the pad. */
function meantForPad(target) {
  if (!(target instanceof Element) || target === document.body || target === document.documentElement) return true;
  if (target.closest(OWN_KEYS)) return false;
  return target.closest('[data-pad-scope]') !== null; // the pad, its buttons and its examples
}

/**
 * Connect a pad to a LiveReader, its Undo and Clear buttons and the
 * keyboard (Ctrl/Cmd+Z undo, Escape or Delete clear), keep the picture in
 * the URL and for the other page, and open on the picture carried there.
 *
 * `onEmpty` runs when the pad becomes empty; `onChange` after every change;
 * `onError(error)` when a carried picture cannot be opened (an ApiError, or
 * an Error whose message is for the person); `keysBlocked()`
 * says when the shortcuts must be left alone (a dialog is open).
 */
export function connectPad(
  pad,
  reader,
  { undoButton, clearButton, onEmpty, onChange = () => {}, onError = () => {}, keysBlocked = () => false },
) {
  const carried = pictureFromQuery(location.search); // read before the first update rewrites the URL
  let drawing = false;

  function update() {
    undoButton.disabled = !pad.canUndo;
    clearButton.disabled = pad.isEmpty;
    if (!drawing) {
      // After each stroke, not during one: the URL always holds a finished picture.
      writeUrl(pad.picture);
      savePicture(pad.picture);
    }
    onChange();
  }

  pad.addEventListener('strokestart', () => {
    drawing = true;
  });
  pad.addEventListener('strokeend', () => {
    drawing = false;
    update();
    reader.changed({ final: true });
  });
  pad.addEventListener('change', () => {
    update();
    if (pad.isEmpty) {
      reader.reset();
      onEmpty();
    } else {
      reader.changed({ final: !drawing }); // while drawing, throttled; otherwise at once
    }
  });

  // Another network chosen: the URL names it (the chooser is issue 11's; this only keeps the URL true).
  document.querySelector('[data-testid=model-select]')?.addEventListener('change', () => writeUrl(pad.picture));
  undoButton.addEventListener('click', () => pad.undo());
  clearButton.addEventListener('click', () => pad.clear());
  document.addEventListener('keydown', (event) => {
    if (event.defaultPrevented || keysBlocked() || document.querySelector('dialog[open]') || !meantForPad(event.target)) return;
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && !event.altKey && event.key.toLowerCase() === 'z') {
      event.preventDefault();
      pad.undo();
    } else if ((event.key === 'Escape' || event.key === 'Delete') && !event.ctrlKey && !event.metaKey && !event.altKey) {
      pad.clear();
    }
  });

  onEmpty();
  update();
  openCarried(pad, carried, onError);
}

/** Open the picture the URL carried (without one, the last visit's); one that cannot be read leaves the pad empty. */
async function openCarried(pad, fromUrl, onError) {
  if (fromUrl?.invalid) {
    onError(new Error(t('The drawing in this page’s address could not be read, so the pad starts empty.')));
    return;
  }
  const picture = fromUrl ?? loadPicture();
  if (!picture) return;
  if (picture.strokes) {
    pad.load(picture.strokes);
    return;
  }
  try {
    const digit = await fetchDigit(picture.mnist);
    if (pad.isEmpty) pad.loadMnist(digit); // unless the user started drawing meanwhile
  } catch (error) {
    onError(error);
  }
}
