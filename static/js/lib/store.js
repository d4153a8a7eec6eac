// The current drawing, carried between pages in localStorage.

const KEY = 'digit-lens.drawing';

export function saveDrawing(strokes) {
  try {
    if (strokes.length) localStorage.setItem(KEY, JSON.stringify(strokes));
    else localStorage.removeItem(KEY);
  } catch {
    // Storage full or disabled: the other page starts blank.
  }
}

export function loadDrawing() {
  try {
    const strokes = JSON.parse(localStorage.getItem(KEY) ?? '[]');
    const valid =
      Array.isArray(strokes) &&
      strokes.every(
        (stroke) =>
          Array.isArray(stroke) &&
          stroke.every((point) => Array.isArray(point) && point.length === 2 && point.every(Number.isFinite)),
      );
    return valid ? strokes : [];
  } catch {
    return [];
  }
}
