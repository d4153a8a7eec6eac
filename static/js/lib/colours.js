// Colour scales for heatmaps: sequential for values >= 0, diverging around 0 otherwise.

// A perceptually even dark-to-bright ramp (sampled from matplotlib's "magma").
const SEQUENTIAL = [
  [0, 0, 4], [28, 16, 68], [79, 18, 123], [129, 37, 129], [181, 54, 122],
  [229, 80, 100], [251, 135, 97], [254, 194, 135], [252, 253, 191],
];
// Blue - white - red (ColorBrewer "RdBu", reversed).
const DIVERGING = [
  [33, 102, 172], [103, 169, 207], [209, 229, 240], [247, 247, 247],
  [253, 219, 199], [239, 138, 98], [178, 24, 43],
];

function ramp(stops, position) {
  const clamped = Math.min(1, Math.max(0, position));
  const scaled = clamped * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(scaled));
  const fraction = scaled - index;
  const [from, to] = [stops[index], stops[index + 1]];
  return [0, 1, 2].map((channel) => Math.round(from[channel] + (to[channel] - from[channel]) * fraction));
}

const GREY = [[0, 0, 0], [255, 255, 255]];

/** Black to white over [0, high]: for images (the input), as the drawing page shows them. */
export function greyScale(high) {
  return {
    kind: 'grey',
    low: 0,
    high,
    colour: (value) => ramp(GREY, value / high),
    css: 'linear-gradient(to right, #000, #fff)',
  };
}

/** The min and max of a typed array. */
export function extent(values) {
  let low = Infinity;
  let high = -Infinity;
  for (const value of values) {
    if (value < low) low = value;
    if (value > high) high = value;
  }
  return [low, high];
}

/**
 * A scale for values in [min, max]: diverging (0 is white) when min < 0,
 * sequential (0 is black) otherwise. Returns {colour(value) -> [r, g, b], css, low, high}.
 */
export function scaleFor(min, max) {
  if (min < 0) {
    const limit = Math.max(Math.abs(min), Math.abs(max)) || 1;
    return {
      kind: 'diverging',
      low: -limit,
      high: limit,
      colour: (value) => ramp(DIVERGING, (value / limit + 1) / 2),
      css: `linear-gradient(to right, ${DIVERGING.map((stop) => `rgb(${stop.join(' ')})`).join(', ')})`,
    };
  }
  const high = max || 1;
  return {
    kind: 'sequential',
    low: 0,
    high,
    colour: (value) => ramp(SEQUENTIAL, value / high),
    css: `linear-gradient(to right, ${SEQUENTIAL.map((stop) => `rgb(${stop.join(' ')})`).join(', ')})`,
  };
}

/** Paint `values` (row by row, `width` x `height`) on a canvas of that size. */
export function paintHeatmap(canvas, values, width, height, scale) {
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  const image = context.createImageData(width, height);
  for (let index = 0; index < width * height; index += 1) {
    const [red, green, blue] = scale.colour(values[index]);
    image.data.set([red, green, blue, 255], index * 4);
  }
  context.putImageData(image, 0, 0);
}
