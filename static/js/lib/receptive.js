// Receptive fields: which input pixels a cell of a layer's output can see.
//
// Walking the layers from the input, each spatial layer maps output cell i to
// input positions [i * stride - padding, ... + kernel - 1] of the layer before,
// padding being the zeros the layer adds above (and left of) its input: the
// server's layers.json has them (layer.padding = [top, bottom, left, right]); a ZeroPadding2D
// layer's are its settings ([[top, bottom], [left, right]]).

function geometry(layer) {
  const settings = layer.settings;
  const [top] = layer.padding ?? [0];
  if (layer.kind === 'Conv2D') {
    return { kernel: settings.kernel_size[0], stride: settings.strides[0], padding: top };
  }
  if (layer.kind === 'MaxPooling2D' || layer.kind === 'AveragePooling2D') {
    return { kernel: settings.pool_size[0], stride: (settings.strides ?? settings.pool_size)[0], padding: top };
  }
  if (layer.kind === 'ZeroPadding2D') return { kernel: 1, stride: 1, padding: settings.padding[0][0] };
  return { kernel: 1, stride: 1, padding: 0 };
}

/**
 * For each layer, {jump, start, size}: output cell i covers input rows
 * [start + i * jump, start + i * jump + size - 1] (and the same for columns).
 */
export function receptiveFields(layers) {
  const fields = [];
  let jump = 1;
  let start = 0;
  let size = 1;
  for (const layer of layers) {
    if (layer.spatial) {
      const { kernel, stride, padding } = geometry(layer);
      start -= padding * jump;
      size += (kernel - 1) * jump;
      jump *= stride;
    }
    fields.push({ jump, start, size });
  }
  return fields;
}

/** The input rectangle {top, left, size} of cell (row, column), clipped to a `side` x `side` input. */
export function fieldOf(field, row, column, side = 28) {
  const top = field.start + row * field.jump;
  const left = field.start + column * field.jump;
  const clip = (from) => [Math.max(0, from), Math.min(side, from + field.size)];
  const [rowFrom, rowTo] = clip(top);
  const [columnFrom, columnTo] = clip(left);
  return { top: rowFrom, left: columnFrom, height: rowTo - rowFrom, width: columnTo - columnFrom };
}
