// The arithmetic of a CNN, small enough to read: convolution and pooling as the
// seeds write them (seed 000's convolution_2d and max_pooling), the output-size
// formula, and rounding that keeps the sums a page shows adding up.

/** The seeds' formula: OH = (H + 2P - FH) / S + 1, or null when the window does not fit. */
export function outputSize(size, window, stride, padding) {
  const span = size + 2 * padding - window;
  if (span < 0) return null;
  return Math.floor(span / stride) + 1;
}

/** `image` (rows of numbers) with `padding` rings of zeros around it. */
export function pad(image, padding) {
  const width = image[0].length + 2 * padding;
  const zeros = () => new Array(width).fill(0);
  const rows = [];
  for (let ring = 0; ring < padding; ring += 1) rows.push(zeros());
  for (const row of image) rows.push([...new Array(padding).fill(0), ...row, ...new Array(padding).fill(0)]);
  for (let ring = 0; ring < padding; ring += 1) rows.push(zeros());
  return rows;
}

/**
 * Convolution as the seeds compute it (no flipping of the kernel, as every CNN
 * library does): out[i][j] = sum of x_padded[i*S + a][j*S + b] * kernel[a][b].
 */
export function convolve(image, kernel, stride = 1, padding = 0) {
  const padded = pad(image, padding);
  const height = outputSize(image.length, kernel.length, stride, padding);
  const width = outputSize(image[0].length, kernel[0].length, stride, padding);
  if (height === null || width === null) return [];
  const out = [];
  for (let i = 0; i < height; i += 1) {
    const row = [];
    for (let j = 0; j < width; j += 1) {
      let sum = 0;
      for (let a = 0; a < kernel.length; a += 1) {
        for (let b = 0; b < kernel[0].length; b += 1) sum += padded[i * stride + a][j * stride + b] * kernel[a][b];
      }
      row.push(sum);
    }
    out.push(row);
  }
  return out;
}

/** Max or average pooling of `size` x `size` blocks moved by `stride` (seed 000's max_pooling). */
export function pool(image, size, stride, kind = 'max') {
  const height = outputSize(image.length, size, stride, 0);
  const width = outputSize(image[0].length, size, stride, 0);
  if (height === null || width === null) return [];
  const out = [];
  for (let i = 0; i < height; i += 1) {
    const row = [];
    for (let j = 0; j < width; j += 1) {
      const block = [];
      for (let a = 0; a < size; a += 1) {
        for (let b = 0; b < size; b += 1) block.push(image[i * stride + a][j * stride + b]);
      }
      row.push(kind === 'max' ? Math.max(...block) : block.reduce((total, value) => total + value, 0) / block.length);
    }
    out.push(row);
  }
  return out;
}

/** A number rounded to `decimals` places, as a whole count of units 10^-decimals. */
export function toUnits(value, decimals) {
  return Math.round(value * 10 ** decimals);
}

/** Units back to text with `decimals` places (a true minus sign). */
export function unitsText(units, decimals) {
  const negative = units < 0;
  const digits = String(Math.abs(units)).padStart(decimals + 1, '0');
  const text = decimals > 0 ? `${digits.slice(0, -decimals)}.${digits.slice(-decimals)}` : digits;
  return negative ? `−${text}` : text;
}

/** `value` with `decimals` places. */
export function fixed(value, decimals) {
  return unitsText(toUnits(value, decimals), decimals);
}

/** `value` with `digits` significant figures (a true minus sign), for inputs and weights. */
export function significant(value, digits = 4) {
  if (value === 0) return '0';
  const text = Math.abs(value) >= 10 ** digits ? value.toFixed(0) : value.toPrecision(digits);
  const plain = text.includes('e') ? Number(text).toString() : text;
  return plain.replace('-', '−');
}

/**
 * Round `values` to whole units so that they add up to exactly `total` units.
 *
 * Each is first rounded to the nearest unit; if the rounded values then miss
 * the total (rounding errors add up), the ones whose rounding moved them
 * furthest the other way take one unit each. Every value stays within one
 * unit of the truth, and the sum shown is the sum of what is shown.
 */
export function apportion(values, total) {
  const rounded = values.map(Math.round);
  let missing = total - rounded.reduce((sum, value) => sum + value, 0);
  const direction = Math.sign(missing);
  if (direction === 0) return rounded;
  // Candidates: how far each rounding went against the direction we need to go.
  const order = values
    .map((value, index) => ({ index, room: direction * (value - rounded[index]) }))
    .sort((first, second) => second.room - first.room);
  for (let turn = 0; missing !== 0; turn += 1) {
    rounded[order[turn % order.length].index] += direction;
    missing -= direction;
  }
  return rounded;
}
