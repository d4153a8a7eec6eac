// A drawing as a short text for the page's URL: quantised, delta-coded, base64url.
//
// Points are snapped to a grid of GRID + 1 positions per axis (pad units 0..1,
// so one step is about 1.8 px on a 460 px pad: far below the 25 px pen), and
// points that add less than SIMPLIFY steps of detail are dropped
// (Ramer-Douglas-Peucker). The pad snaps each finished stroke the same way,
// so what is on screen, what the server reads and what the URL holds are the
// same drawing, and a shared URL gives the same reading.
//
// Bytes: a version byte (1); then per stroke, the number of points and each
// point as the difference from the point before (the first from the previous
// stroke's last point, or from 0,0), x then y, as zigzag LEB128 varints. Most
// steps fit one byte. The bytes are written in base64url without padding.

export const GRID = 255;
const VERSION = 1;
const SIMPLIFY = 0.6; // grid steps
const MAX_STROKES = 500;
const MAX_POINTS = 50_000;

/** A stroke (pad units) snapped to the grid, without repeated or needless points; grid units. */
function snapToGrid(stroke) {
  const snapped = [];
  for (const [x, y] of stroke) {
    const point = [clampGrid(Math.round(x * GRID)), clampGrid(Math.round(y * GRID))];
    const last = snapped[snapped.length - 1];
    if (!last || last[0] !== point[0] || last[1] !== point[1]) snapped.push(point);
  }
  return simplify(snapped, SIMPLIFY);
}

function clampGrid(value) {
  return Math.min(GRID, Math.max(0, Number.isFinite(value) ? value : 0));
}

/** Ramer-Douglas-Peucker: keep the points that lie further than `tolerance` from the line of their neighbours. */
function simplify(points, tolerance) {
  if (points.length < 3) return points;
  const keep = new Uint8Array(points.length);
  keep[0] = 1;
  keep[points.length - 1] = 1;
  const pending = [[0, points.length - 1]];
  while (pending.length) {
    const [first, last] = pending.pop();
    const [ax, ay] = points[first];
    const [bx, by] = points[last];
    const length2 = (bx - ax) ** 2 + (by - ay) ** 2;
    let farthest = -1;
    let distance = tolerance;
    for (let index = first + 1; index < last; index += 1) {
      // Distance to the segment, not its line: a stroke that doubles back keeps its turning point.
      const [px, py] = points[index];
      const along = length2 ? Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / length2)) : 0;
      const away = Math.hypot(px - (ax + along * (bx - ax)), py - (ay + along * (by - ay)));
      if (away > distance) {
        distance = away;
        farthest = index;
      }
    }
    if (farthest >= 0) {
      keep[farthest] = 1;
      pending.push([first, farthest], [farthest, last]);
    }
  }
  return points.filter((_, index) => keep[index]);
}

/** The stroke as the URL will carry it, back in pad units. */
export function snapStroke(stroke) {
  return snapToGrid(stroke).map(([x, y]) => [x / GRID, y / GRID]);
}

export function snapStrokes(strokes) {
  return strokes.map(snapStroke);
}

function writeVarint(bytes, value) {
  let rest = value;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
}

const zigzag = (value) => (value < 0 ? -2 * value - 1 : 2 * value);
const unzigzag = (value) => (value & 1 ? -(value + 1) / 2 : value / 2);

function toBase64Url(bytes) {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text) {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) return null;
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(binary, (character) => character.charCodeAt(0));
}

/** Strokes (pad units) -> the URL's text. An empty drawing is the empty string. */
export function encodeStrokes(strokes) {
  const snapped = strokes.map(snapToGrid).filter((stroke) => stroke.length);
  if (!snapped.length) return '';
  const bytes = [VERSION];
  let previous = [0, 0];
  for (const stroke of snapped) {
    writeVarint(bytes, stroke.length);
    for (const point of stroke) {
      writeVarint(bytes, zigzag(point[0] - previous[0]));
      writeVarint(bytes, zigzag(point[1] - previous[1]));
      previous = point;
    }
  }
  return toBase64Url(bytes);
}

/**
 * The URL's text -> strokes (pad units), or null when it is not a drawing
 * this code wrote: bad characters, another version, truncated, trailing
 * bytes, points off the pad, or absurdly many strokes or points.
 */
export function decodeStrokes(text) {
  if (typeof text !== 'string' || !text) return null;
  const bytes = fromBase64Url(text);
  if (!bytes || bytes.length < 2 || bytes[0] !== VERSION) return null;
  let at = 1;
  const readVarint = () => {
    let value = 0;
    for (let shift = 0; shift < 28; shift += 7) {
      if (at >= bytes.length) return null;
      const byte = bytes[at];
      at += 1;
      value += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return value;
    }
    return null; // longer than any value this code writes
  };
  const strokes = [];
  let points = 0;
  let previous = [0, 0];
  while (at < bytes.length) {
    const count = readVarint();
    if (count === null || count < 1 || strokes.length >= MAX_STROKES) return null;
    points += count;
    if (points > MAX_POINTS) return null;
    const stroke = [];
    for (let index = 0; index < count; index += 1) {
      const dx = readVarint();
      const dy = readVarint();
      if (dx === null || dy === null) return null;
      const point = [previous[0] + unzigzag(dx), previous[1] + unzigzag(dy)];
      if (point.some((value) => value < 0 || value > GRID)) return null;
      stroke.push(point);
      previous = point;
    }
    strokes.push(stroke.map(([x, y]) => [x / GRID, y / GRID]));
  }
  return strokes;
}
