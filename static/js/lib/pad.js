// The drawing pad: mouse, touch and pen through Pointer Events.
//
// Strokes are kept in pad units (0..1 on both axes), so they survive a
// resize and can be redrawn at any size: sharp on a high-DPI screen, and at a
// fixed logical size for the PNG sent to the server.

import { canEncodeGrey, encodeGreyPng } from './png.js';

export const EXPORT_SIZE = 280; // side of the PNG sent to the server, in pixels
export const PEN_FRACTION = 0.055; // pen width as a fraction of the pad's side

const MIN_STEP = 0.002; // ignore moves shorter than this (pad units)

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

/**
 * A pad on a canvas. Events: `strokestart`, `change` (the drawing changed:
 * a point added, undo, clear, load) and `strokeend`.
 */
export class Pad extends EventTarget {
  constructor(canvas) {
    super();
    this.canvas = canvas;
    this.context = canvas.getContext('2d');
    this.strokes = [];
    this.pointerId = null;
    this.frame = 0;

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
    return this.strokes.length === 0;
  }

  get drawing() {
    return this.strokes.map((stroke) => stroke.map(([x, y]) => [x, y]));
  }

  /** Replace the drawing (for example, one carried over from another page). */
  load(strokes) {
    this.strokes = strokes.map((stroke) => stroke.map(([x, y]) => [x, y]));
    this.redraw();
    this.#emit('change');
  }

  clear() {
    this.#endStroke();
    if (this.isEmpty) return;
    this.strokes = [];
    this.redraw();
    this.#emit('change');
  }

  undo() {
    this.#endStroke();
    if (this.isEmpty) return;
    this.strokes.pop();
    this.redraw();
    this.#emit('change');
  }

  toBlob() {
    return strokesToBlob(this.strokes);
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
    paintStrokes(this.context, this.strokes, Math.min(width, height), ink);
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
    this.canvas.setPointerCapture?.(event.pointerId);
    this.pointerId = event.pointerId;
    this.strokes.push([this.#point(event)]);
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
    this.#emit('strokeend');
  }

  #emit(type) {
    this.dispatchEvent(new Event(type));
  }
}
