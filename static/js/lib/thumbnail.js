// A kept drawing as a list item: its 28x28 image and a button that deletes it (the classroom's two pages).

import { decodePixels, paintDigit } from './mnist.js';

/**
 * An <li data-id> holding the drawing's image, an optional caption and a delete button.
 *
 * drawing: {id, pixels (base64 of 784 bytes)}; imageLabel, deleteLabel: what a screen reader says for
 * the image and the button; deleteTestid: the button's data-testid; caption: text shown under the image,
 * or null; onDelete(item): called on a click.
 */
export function drawingThumbnail(drawing, { imageLabel, deleteLabel, deleteText, deleteTestid, caption = null, onDelete }) {
  const item = document.createElement('li');
  item.dataset.id = drawing.id;
  const canvas = document.createElement('canvas');
  paintDigit(canvas, decodePixels(drawing.pixels));
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', imageLabel);
  const remove = document.createElement('button');
  remove.type = 'button';
  remove.className = 'delete';
  remove.dataset.testid = deleteTestid;
  remove.textContent = deleteText;
  remove.setAttribute('aria-label', deleteLabel);
  remove.addEventListener('click', () => onDelete(item));
  item.append(canvas);
  if (caption !== null) {
    const text = document.createElement('span');
    text.textContent = caption;
    item.append(text);
  }
  item.append(remove);
  return item;
}
