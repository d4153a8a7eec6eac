// Decoding /api/features and /api/kernels into typed arrays (encodings documented in docs/api.md).

function bytesFromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index += 1) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

/**
 * One layer's output, channel-major: `channel(c)` is a Float32Array of
 * height*width values (row by row); 1-D outputs are one channel.
 */
export class LayerOutput {
  constructor({ name, kind, shape, parameters, settings, padding, min, max, data }) {
    this.name = name;
    this.kind = kind;
    this.shape = shape;
    this.parameters = parameters;
    this.settings = settings ?? {};
    // Conv and pooling layers: the zeros around the input, [top, bottom, left, right], as the network has them.
    this.padding = padding ?? [0, 0, 0, 0];
    this.spatial = shape.length === 3;
    this.height = this.spatial ? shape[0] : 1;
    this.width = this.spatial ? shape[1] : shape[0];
    this.channels = this.spatial ? shape[2] : 1;
    const bytes = bytesFromBase64(data);
    const size = this.height * this.width;
    // The encoding's range per channel: a value is within half a step, (max - min) / 255 / 2.
    this.channelMin = min;
    this.channelMax = max;
    this.values = new Float32Array(bytes.length);
    // A value is within half a step of the network's (0 for a channel of one value): the bars say ≈.
    this.steps = [];
    for (let channel = 0; channel < this.channels; channel += 1) {
      const low = min[channel];
      const step = (max[channel] - low) / 255;
      this.steps.push(step);
      for (let index = 0; index < size; index += 1) {
        const at = channel * size + index;
        this.values[at] = bytes[at] === 255 ? max[channel] : low + bytes[at] * step;
      }
    }
    let smallest = Infinity;
    let largest = -Infinity;
    for (const value of this.values) {
      if (value < smallest) smallest = value;
      if (value > largest) largest = value;
    }
    this.min = smallest;
    this.max = largest;
  }

  channel(index) {
    const size = this.height * this.width;
    return this.values.subarray(index * size, (index + 1) * size);
  }

  value(channel, row, column) {
    return this.values[channel * this.height * this.width + row * this.width + column];
  }
}

export function decodeLayers(answer) {
  return answer.layers.map((layer) => new LayerOutput(layer));
}

/** Conv kernels: {name: {shape: [kh, kw, in, out], weight(row, column, input, filter), bias, min, max}}. */
export function decodeKernels(answer) {
  const kernels = {};
  for (const layer of answer.layers) {
    const bytes = bytesFromBase64(layer.kernel);
    const values = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const [height, width, inputs, filters] = layer.kernel_shape;
    kernels[layer.name] = {
      shape: layer.kernel_shape,
      bias: layer.bias,
      min: layer.min,
      max: layer.max,
      weight: (row, column, input, filter) => values[((row * width + column) * inputs + input) * filters + filter],
      height,
      width,
      inputs,
      filters,
    };
  }
  return kernels;
}
