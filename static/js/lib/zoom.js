// The layers page's zoom dialog: one map enlarged, beside the filter that made it and its weights.

import { legend } from './bands.js';
import { extent, paintHeatmap, scaleFor } from './colours.js';
import { t } from './i18n.js';

function convFor(layers, index) {
  for (let at = index; at >= 0; at -= 1) {
    if (layers[at].kind === 'Conv2D') return layers[at];
    if (!layers[at].spatial) return null;
  }
  return null;
}

function weightGrid(kernel, input, filter, scale) {
  const table = document.createElement('table');
  table.className = 'number-grid weights-grid';
  table.setAttribute('aria-label', t('weights on input map #%(input)s', { input }));
  for (let row = 0; row < kernel.height; row += 1) {
    const tr = document.createElement('tr');
    for (let column = 0; column < kernel.width; column += 1) {
      const weight = kernel.weight(row, column, input, filter);
      const td = document.createElement('td');
      const [red, green, blue] = scale.colour(weight);
      td.style.backgroundColor = `rgb(${red} ${green} ${blue})`;
      // Dark text on the light middle of the scale, light text on its strong ends.
      td.style.color = red * 0.3 + green * 0.59 + blue * 0.11 > 140 ? '#111' : '#fff';
      td.textContent = weight.toPrecision(3).replace('-', '−');
      td.title = String(weight);
      tr.append(td);
    }
    table.append(tr);
  }
  return table;
}

/**
 * Open the dialog `zoom` on map `channel` of layer `index` of `layers` (decoded /api/features layers),
 * beside the filter that made it; `kernels()` resolves to the decoded /api/kernels.
 */
export async function openZoom(zoom, layers, index, channel, kernels) {
  const layer = layers[index];
  if (!layer.spatial) return;
  zoom.querySelector('.zoom-title').textContent =
    layer.channels > 1 ? t('%(layer)s, map #%(map)s', { layer: layer.name, map: channel }) : layer.name;
  const big = zoom.querySelector('.zoom-map');
  const [low, high] = extent(layer.channel(channel));
  const scale = layer.kind === 'InputLayer' || layer.kind === 'Rescaling' ? scaleFor(0, high || 1) : scaleFor(low, high);
  paintHeatmap(big, layer.channel(channel), layer.width, layer.height, scale);
  zoom.querySelector('.zoom-legend').replaceChildren(legend(scale));
  big.dataset.layer = layer.name;
  big.dataset.channel = String(channel);

  const kernelNode = zoom.querySelector('.zoom-kernel');
  kernelNode.replaceChildren();
  const conv = convFor(layers, index);
  if (conv) {
    const kernel = (await kernels())[conv.name];
    const limit = Math.max(Math.abs(kernel.min), Math.abs(kernel.max));
    const kernelScale = scaleFor(-limit, limit);
    const readsImage = layers[layers.indexOf(conv) - 1].kind === 'Rescaling' || layers[layers.indexOf(conv) - 1].kind === 'InputLayer';
    const heading = document.createElement('p');
    heading.className = 'zoom-caption';
    heading.textContent =
      (kernel.inputs > 1
        ? t('Filter #%(filter)s of %(layer)s: %(height)s×%(width)s weights for each of the %(inputs)s input maps, bias %(bias)s.', {
            filter: channel, layer: conv.name, height: kernel.height, width: kernel.width, inputs: kernel.inputs, bias: kernel.bias[channel].toPrecision(3),
          })
        : t('Filter #%(filter)s of %(layer)s: %(height)s×%(width)s weights, bias %(bias)s.', {
            filter: channel, layer: conv.name, height: kernel.height, width: kernel.width, bias: kernel.bias[channel].toPrecision(3),
          })) +
      ' ' +
      (readsImage
        ? t('Red weights reward ink under them, blue ones penalise it.')
        : t('It reads the maps of the layer before, not the ink: red weights add where an input map is high, blue ones subtract.'));
    const key = legend(kernelScale);
    key.classList.add('kernel-legend');
    key.setAttribute('aria-label', t('colour key of the weights: blue negative, white 0, red positive'));
    if (kernel.inputs === 1) {
      kernelNode.append(heading, weightGrid(kernel, 0, channel, kernelScale), key);
    } else {
      // One labelled tile per input map; the chosen tile's numbers below.
      const grid = document.createElement('div');
      grid.className = 'kernel-grid';
      const numbers = document.createElement('div');
      numbers.className = 'kernel-numbers';
      const showNumbers = (input) => {
        const caption = document.createElement('p');
        caption.className = 'zoom-caption';
        caption.textContent = t('Weights on input map #%(input)s:', { input });
        numbers.replaceChildren(caption, weightGrid(kernel, input, channel, kernelScale));
        grid.querySelectorAll('button').forEach((button) => button.setAttribute('aria-pressed', String(Number(button.dataset.input) === input)));
      };
      let strongest = 0;
      let strongestWeight = -1;
      for (let input = 0; input < kernel.inputs; input += 1) {
        const values = new Float32Array(kernel.height * kernel.width);
        let total = 0;
        for (let row = 0; row < kernel.height; row += 1) {
          for (let column = 0; column < kernel.width; column += 1) {
            values[row * kernel.width + column] = kernel.weight(row, column, input, channel);
            total += Math.abs(values[row * kernel.width + column]);
          }
        }
        if (total > strongestWeight) {
          strongestWeight = total;
          strongest = input;
        }
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'kernel-tile';
        button.dataset.input = String(input);
        button.setAttribute('aria-label', t('weights on input map #%(input)s', { input }));
        const tile = document.createElement('canvas');
        tile.className = 'kernel';
        tile.title = t('weights on input map #%(input)s', { input });
        paintHeatmap(tile, values, kernel.width, kernel.height, kernelScale);
        const label = document.createElement('span');
        label.textContent = `#${input}`;
        button.append(tile, label);
        button.addEventListener('click', () => showNumbers(input));
        grid.append(button);
      }
      kernelNode.append(heading, key, grid, numbers);
      showNumbers(strongest);
    }
  } else {
    const note = document.createElement('p');
    note.className = 'zoom-caption';
    note.textContent = t('No filter made this: it is the input itself.');
    kernelNode.append(note);
  }
  if (!zoom.open) zoom.showModal();
}

/** Close `zoom` with its close button or a click on its backdrop. */
export function connectZoom(zoom) {
  zoom.querySelector('.zoom-close').addEventListener('click', () => zoom.close());
  zoom.addEventListener('click', (event) => {
    if (event.target === zoom) zoom.close(); // a click on the backdrop
  });
}
