// The drawing pad: mouse, touch and pen through Pointer Events.
//
// Strokes are kept in pad units (0..1 on both axes), so they survive a
// resize and can be redrawn at any size: sharp on a high-DPI screen, and at a
// fixed logical size for the PNG sent to the server. Instead of strokes, the
// pad can show one of MNIST's test digits: its own 28x28 pixels, sent to the
// server as a 28x28 PNG (there are no strokes to replay).
//
// Every change (a stroke, Clear, an example) first keeps the picture before
// it, so Undo steps back through them: Ctrl+Z after Clear restores the drawing.

import { canEncodeGrey, encodeGreyPng } from './png.js';
import { snapStroke, snapStrokes } from './strokecode.js';

export const EXPORT_SIZE = 280; // side of the PNG sent to the server, in pixels
export const PEN_FRACTION = 0.055; // pen width as a fraction of the pad's side

const MIN_STEP = 0.002; // ignore moves shorter than this (pad units)
const HISTORY = 100; // pictures Undo can go back to
export const MNIST_SIDE = 28;

/** Draw strokes on a 2D context of a square `size`, with round caps and joins, smoothed. */
export function paintStrokes(context, strokes, size, colour) {
  context.lineCap = 'round';
  context.lineJoin = 'round';
  context.lineWidth = PEN_FRACTION * size;
  context.strokeStyle = colour;
  context.fillStyle = colour;
  for (const stroke of strokes) {
    const points = stroke.map(([x, y]) => [x * size, y * size]);
    if (points.length === 1) {
      context.beginPath();
      context.arc(points[0][0], points[0][1], context.lineWidth / 2, 0, 2 * Math.PI);
      context.fill();
      continue;
    }
    // Quadratic curves through the midpoints: smooth, and through every sample's neighbourhood.
    context.beginPath();
    context.moveTo(points[0][0], points[0][1]);
    for (let index = 1; index < points.length - 1; index += 1) {
      const [x, y] = points[index];
      const [nextX, nextY] = points[index + 1];
      context.quadraticCurveTo(x, y, (x + nextX) / 2, (y + nextY) / 2);
    }
    const [lastX, lastY] = points[points.length - 1];
    context.lineTo(lastX, lastY);
    context.stroke();
  }
}

/**
 * Render strokes as the PNG the server reads: black ink on white, 8-bit grey
 * (or, where the browser cannot compress, the canvas's own RGBA PNG of black
 * ink on a transparent square).
 */
export async function strokesToBlob(strokes, size = EXPORT_SIZE) {
  const canvas = document.createElement('canvas');
  canvas.width = size;
  canvas.height = size;
  const context = canvas.getContext('2d', { willReadFrequently: true });
  paintStrokes(context, strokes, size, '#000');
  if (canEncodeGrey) {
    const rgba = context.getImageData(0, 0, size, size).data;
    const grey = new Uint8Array(size * size);
    for (let index = 0; index < grey.length; index += 1) grey[index] = 255 - rgba[index * 4 + 3]; // ink coverage
    return encodeGreyPng(grey, size, size);
  }
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('could not encode the drawing'))), 'image/png');
  });
}

/** An MNIST digit (`pixels`: 784 bytes, ink = 255) as the PNG the server reads: dark ink on white, 28x28. */
export async function mnistToBlob(pixels) {
  if (canEncodeGrey) return encodeGreyPng(pixels.map((value) => 255 - value), MNIST_SIDE, MNIST_SIDE);
  const canvas = mnistCanvas(pixels, [0, 0, 0]);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('could not encode the digit'))), 'image/png');
  });
}

/** A 28x28 canvas of an MNIST digit: `rgb` ink whose opacity is the pixel's value, on transparent. */
export function mnistCanvas(pixels, rgb) {
  const canvas = document.createElement('canvas');
  canvas.width = MNIST_SIDE;
  canvas.height = MNIST_SIDE;
  const context = canvas.getContext('2d');
  const image = context.createImageData(MNIST_SIDE, MNIST_SIDE);
  pixels.forEach((value, index) => {
    image.data.set([rgb[0], rgb[1], rgb[2], value], index * 4);
  });
  context.putImageData(image, 0, 0);
  return canvas;
}

function inkRgb(colour) {
  const probe = document.createElement('canvas').getContext('2d');
  probe.fillStyle = colour;
  const hex = probe.fillStyle; // normalised to #rrggbb
  return /^#[0-9a-f]{6}$/i.test(hex) ? [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16)) : [17, 17, 17];
}

/**
 * A pad on a canvas. Events: `strokestart`, `change` (the picture changed:
 * a point added, undo, clear, load, an example) and `strokeend`.
 *
 * The picture is either strokes or `mnist` ({index, label, pixels}); drawing
 * on an MNIST digit starts a new drawing (Undo brings the digit back).
 */
export class Pad extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.strokes = [];
    this.mnist = null;
    this.history = [];
    this.pointerId = null;
    this.frame = 0;

    // Focusable (not a tab stop), so that after drawing, Esc and Ctrl+Z are the pad's.
    if (!canvas.hasAttribute('tabindex')) canvas.tabIndex = -1;
    canvas.addEventListener('pointerdown', (event) => this.#down(event));
    canvas.addEventListener('pointermove', (event) => this.#move(event));
    canvas.addEventListener('pointerup', (event) => this.#up(event));
    canvas.addEventListener('pointercancel', (event) => this.#up(event));
    canvas.addEventListener('lostpointercapture', (event) => this.#up(event));
    // No context menu or selection on a long press.
    canvas.addEventListener('contextmenu', (event) => event.preventDefault());

    new ResizeObserver(() => this.resize()).observe(canvas);
    window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => this.redraw());
    this.resize();
  }

  get isEmpty() {
    return this.strokes.length === 0 && !this.mnist;
  }

  get canUndo() {
    return this.history.length > 0 || this.strokes.length > 0;
  }

  get drawing() {
    return this.strokes.map((stroke) => stroke.map(([x, y]) => [x, y]));
  }

  /** What is on the pad: `{strokes}` or `{mnist: index}`; null when empty. */
  get picture() {
    if (this.mnist) return { mnist: this.mnist.index };
    return this.strokes.length ? { strokes: this.drawing } : null;
  }

  /** Open on a picture (one carried over from another page or a URL): nothing to undo to. */
  load(strokes) {
    this.history = [];
    this.#set(snapStrokes(strokes), null);
  }

  /** Open on an MNIST digit ({index, label, pixels}) with nothing to undo to. */
  loadMnist(digit) {
    this.history = [];
    this.#set([], digit);
  }

  /** Put an example on the pad; Undo goes back to what was there. */
  show({ strokes = [], mnist = null }) {
    this.#endStroke();
    this.#remember();
    this.#set(snapStrokes(strokes), mnist);
  }

  clear() {
    this.#endStroke();
    if (this.isEmpty) return;
    this.#remember();
    this.#set([], null);
  }

  /** Go back to the picture before the last change (a stroke, Clear, an example). */
  undo() {
    this.#endStroke();
    if (this.history.length) {
      const { strokes, mnist } = this.history.pop();
      this.#set(strokes, mnist);
    } else if (this.strokes.length) {
      this.#set(this.strokes.slice(0, -1), null); // a loaded drawing: its strokes one by one
    }
  }

  toBlob() {
    return this.mnist ? mnistToBlob(this.mnist.pixels) : strokesToBlob(this.strokes);
  }

  #remember() {
    this.history.push({ strokes: this.strokes, mnist: this.mnist });
    if (this.history.length > HISTORY) this.history.shift();
  }

  #set(strokes, mnist) {
    this.strokes = strokes;
    this.mnist = mnist;
    this.redraw();
    this.#emit('change');
  }

  /** Match the canvas's backing store to its displayed size times the device pixel ratio. */
  resize() {
    const rect = this.canvas.getBoundingClientRect();
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(rect.width * ratio));
    const height = Math.max(1, Math.round(rect.height * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    this.redraw();
  }

  redraw() {
    cancelAnimationFrame(this.frame);
    this.frame = 0;
    const { width, height } = this.canvas;
    this.context.clearRect(0, 0, width, height);
    const ink = getComputedStyle(this.canvas).getPropertyValue('--ink').trim() || '#111';
    const side = Math.min(width, height);
    if (this.mnist) {
      // MNIST's own pixels, each a visible square: this is what the network reads.
      this.context.imageSmoothingEnabled = false;
      this.context.drawImage(mnistCanvas(this.mnist.pixels, inkRgb(ink)), 0, 0, side, side);
    }
    paintStrokes(this.context, this.strokes, side, ink);
  }

  #scheduleRedraw() {
    if (!this.frame) this.frame = requestAnimationFrame(() => this.redraw());
  }

  #point(event) {
    const rect = this.canvas.getBoundingClientRect();
    const side = Math.min(rect.width, rect.height);
    const clamp = (value) => Math.min(1, Math.max(0, value));
    return [clamp((event.clientX - rect.left) / side), clamp((event.clientY - rect.top) / side)];
  }

  #down(event) {
    if (event.pointerType === 'mouse' && event.button !== 0) return;
    if (this.pointerId !== null) return; // a second finger does not start a second stroke
    event.preventDefault();
    this.canvas.focus({ preventScroll: true });
    this.canvas.setPointerCapture?.(event.pointerId);
    this.pointerId = event.pointerId;
    this.#remember();
    // Strokes are never mixed with an MNIST digit's pixels: drawing starts a new picture.
    this.strokes = [...(this.mnist ? [] : this.strokes), [this.#point(event)]];
    this.mnist = null;
    this.#scheduleRedraw();
    this.#emit('strokestart');
    this.#emit('change');
  }

  #move(event) {
    if (event.pointerId !== this.pointerId) return;
    event.preventDefault();
    const stroke = this.strokes[this.strokes.length - 1];
    const samples = event.getCoalescedEvents?.() ?? [];
    let added = false;
    for (const sample of samples.length ? samples : [event]) {
      const point = this.#point(sample);
      const [lastX, lastY] = stroke[stroke.length - 1];
      if (Math.hypot(point[0] - lastX, point[1] - lastY) >= MIN_STEP) {
        stroke.push(point);
        added = true;
      }
    }
    if (added) {
      this.#scheduleRedraw();
      this.#emit('change');
    }
  }

  #up(event) {
    if (event.pointerId !== this.pointerId) return;
    this.#endStroke();
  }

  #endStroke() {
    if (this.pointerId === null) return;
    this.canvas.releasePointerCapture?.(this.pointerId);
    this.pointerId = null;
    // The finished stroke as the page's URL carries it, so a shared URL reads the same.
    const last = this.strokes.length - 1;
    this.strokes[last] = snapStroke(this.strokes[last]);
    this.redraw();
    this.#emit('strokeend');
  }

  #emit(type) {
    this.dispatchEvent(new Event(type));
  }
}
