// MNIST's test digits, from the app's own copy (GET /api/mnist/...).

import { getJson } from './api.js';

const base = () => document.body.dataset.mnistUrl;

/** 784 bytes (row by row, ink = 255) from the API's base64. */
export function decodePixels(text) {
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}

function digit(answer) {
  return { index: answer.index, label: answer.label, pixels: decodePixels(answer.pixels) };
}

/** Test digit number `index`: {index, label, pixels}. */
export async function fetchDigit(index) {
  return digit(await getJson(`${base()}/${index}`));
}

/** A random test digit, of `label` when given. */
export async function fetchRandomDigit(label = null) {
  return digit(await getJson(`${base()}/random${label === null ? '' : `?label=${label}`}`));
}

/** Paint a digit's pixels on a 28x28 canvas as light ink on black, as the network sees it. */
export function paintDigit(canvas, pixels) {
  canvas.width = 28;
  canvas.height = 28;
  const context = canvas.getContext('2d');
  const image = context.createImageData(28, 28);
  pixels.forEach((value, index) => image.data.set([value, value, value, 255], index * 4));
  context.putImageData(image, 0, 0);
}
