// What both pages do with a pad: read it live, Undo/Clear buttons and keys, keep the drawing.

import { loadDrawing, saveDrawing } from './store.js';

/**
 * Connect a pad to a LiveReader, its Undo and Clear buttons and the
 * keyboard (Ctrl/Cmd+Z undo; Escape or Delete clear), keep the drawing for
 * the other page, and open on the drawing kept there.
 *
 * `onEmpty` runs when the pad becomes empty; `onChange` after every change;
 * `keysBlocked()` says when the shortcuts must be left alone (a dialog is open).
 */
export function connectPad(pad, reader, { undoButton, clearButton, onEmpty, onChange = () => {}, keysBlocked = () => false }) {
  function update() {
    undoButton.disabled = pad.isEmpty;
    clearButton.disabled = pad.isEmpty;
    saveDrawing(pad.drawing);
    onChange();
  }

  let drawing = false;
  pad.addEventListener('strokestart', () => {
    drawing = true;
  });
  pad.addEventListener('strokeend', () => {
    drawing = false;
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

  undoButton.addEventListener('click', () => pad.undo());
  clearButton.addEventListener('click', () => pad.clear());
  document.addEventListener('keydown', (event) => {
    if (keysBlocked() || event.target instanceof HTMLInputElement || event.target instanceof HTMLTextAreaElement) return;
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === 'z') {
      event.preventDefault();
      pad.undo();
    } else if (event.key === 'Escape' || event.key === 'Delete') {
      pad.clear();
    }
  });

  onEmpty();
  const carried = loadDrawing();
  if (carried.length) pad.load(carried);
  update();
}
