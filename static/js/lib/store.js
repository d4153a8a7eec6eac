// The current picture, kept in localStorage so a page opened without one in
// its URL starts where the user left off: a drawing (its strokes) or an MNIST
// test digit ({"mnist": index}).

import { MNIST_TEST_SIZE } from './share.js';

const KEY = 'digit-lens.drawing';

export function savePicture(picture) {
  try {
    if (!picture) localStorage.removeItem(KEY);
    else localStorage.setItem(KEY, JSON.stringify(picture.strokes ?? { mnist: picture.mnist }));
  } catch {
    // Storage full or disabled: the other page starts blank.
  }
}

/** The kept picture, `{strokes}` or `{mnist}`, or null. */
export function loadPicture() {
  try {
    const kept = JSON.parse(localStorage.getItem(KEY) ?? 'null');
    if (Number.isInteger(kept?.mnist) && kept.mnist >= 0 && kept.mnist < MNIST_TEST_SIZE) return { mnist: kept.mnist };
    const valid =
      Array.isArray(kept) &&
      kept.length > 0 &&
      kept.every(
        (stroke) =>
          Array.isArray(stroke) &&
          stroke.length > 0 &&
          stroke.every((point) => Array.isArray(point) && point.length === 2 && point.every(Number.isFinite)),
      );
    return valid ? { strokes: kept } : null;
  } catch {
    return null;
  }
}

/** The kept drawing's strokes (pad units), or [] when none is kept or the picture is an MNIST digit. */
export function loadDrawing() {
  return loadPicture()?.strokes ?? [];
}
