// The arithmetic of one convolution cell: the input window of each map times the filter's weights,
// the products, their sum per map, the sums added up, plus the bias.

import { apportion, significant, toUnits, unitsText } from '../arithmetic.js';
import { element } from '../dom.js';
import { t } from '../i18n.js';
import { SLOT, biasLine, decimalsFor, figure, numberGrid, numberNode, withNode } from './format.js';

/** Rings of padding drawn around a layer's input: its widest side of zeros (layers.json's padding). */
export function paddingRing(layer) {
  return Math.max(0, ...(layer.padding ?? [0]));
}

/** Render `view.answer` (operation "conv") into `view.body` and `view.pictures`. */
export function render(view) {
  const answer = view.answer;
  const { height, width } = answer.window;
  const perChannel = height * width;
  const channels = answer.channel_sums.length;
  const products = answer.inputs.map((value, i) => value * answer.weights[i]);
  const largest = Math.max(Math.abs(answer.value), Math.abs(answer.bias), ...products.map(Math.abs));
  const decimals = decimalsFor(largest);
  const valueUnits = toUnits(answer.value, decimals);
  const biasUnits = toUnits(answer.bias, decimals);
  const sumUnits = valueUnits - biasUnits;
  const channelUnits = apportion(answer.channel_sums.map((sum) => sum * 10 ** decimals), sumUnits);
  const padding = paddingRing(view.layers[view.index]);

  // The channel opened: the one that contributes most, unless the learner chose one.
  let open = view.openChannel;
  if (!(open >= 0 && open < channels) || view.openFor !== `${answer.layer}:${answer.at.join(',')}`) {
    open = 0;
    answer.channel_sums.forEach((sum, channel) => {
      if (Math.abs(sum) > Math.abs(answer.channel_sums[open])) open = channel;
    });
  }
  view.openChannel = open;
  view.openFor = `${answer.layer}:${answer.at.join(',')}`;
  const stride = view.layers[view.index].settings.strides ?? [1, 1];
  view.showPictures({ channel: open, padding, box: answer.window, slide: true, stride });

  const windowNode = element('div', 'explain-channel');
  const showChannel = (channel) => {
    const from = channel * perChannel;
    const slice = (list) => list.slice(from, from + perChannel);
    const isPadding = slice(answer.padding);
    const productUnits = apportion(slice(products).map((product) => product * 10 ** decimals), channelUnits[channel]);
    const classes = (i) => (isPadding[i] ? 'padding-cell' : '');
    const grids = element('div', 'explain-grids');
    grids.append(
      figure(
        channels > 1 ? t('Input window, map #%(channel)s', { channel }) : t('Input window'),
        numberGrid(slice(answer.inputs).map((value, i) => (isPadding[i] ? '0' : significant(value))), height, width, {
          titles: slice(answer.inputs).map((value, i) => (isPadding[i] ? t('padding: a zero added around the map') : String(value))),
          classes,
          label: t('input window'),
        }),
      ),
      element('span', 'explain-operator', '×'),
      figure(
        t('Weights'),
        numberGrid(slice(answer.weights).map((value) => significant(value)), height, width, {
          titles: slice(answer.weights).map(String),
          label: t('weights'),
        }),
      ),
      element('span', 'explain-operator', '='),
      figure(
        t('Products'),
        numberGrid(productUnits.map((units) => unitsText(units, decimals)), height, width, {
          titles: slice(products).map(String),
          classes: (i) => `product ${classes(i)}`,
          label: t('products'),
        }),
      ),
    );
    const sum = element('p', 'explain-line explain-channel-sum');
    const partial = numberNode('strong', channelUnits[channel], decimals, answer.channel_sums[channel]);
    sum.append(
      ...withNode(
        channels > 1
          ? t('The %(count)s products of map #%(channel)s add up to %(sum)s.', { count: perChannel, channel, sum: SLOT })
          : t('The %(count)s products add up to %(sum)s.', { count: perChannel, sum: SLOT }),
        partial,
      ),
    );
    windowNode.replaceChildren(grids, sum);
    if (isPadding.some(Boolean)) {
      windowNode.append(element('p', 'explain-note', t('Hatched cells are padding: zeros added around the map, so they add nothing.')));
    }
  };

  if (channels > 1) {
    const intro = element(
      'p',
      'explain-note',
      t('This filter has a %(height)s×%(width)s window on each of the %(channels)s maps of %(layer)s. Each map gives a partial sum; open any of them to see its products.', {
        height, width, channels, layer: answer.input_layer,
      }),
    );
    const list = element('div', 'channel-sums');
    list.setAttribute('role', 'group');
    list.setAttribute('aria-label', t('partial sum of each input map'));
    for (let channel = 0; channel < channels; channel += 1) {
      const button = element('button', 'channel-sum');
      button.type = 'button';
      button.dataset.channel = String(channel);
      button.setAttribute('aria-pressed', String(channel === open));
      button.append(element('span', 'channel-sum-label', `#${channel}`), numberNode('span', channelUnits[channel], decimals, answer.channel_sums[channel]));
      button.addEventListener('click', () => {
        view.openChannel = channel;
        list.querySelectorAll('button').forEach((other) => other.setAttribute('aria-pressed', String(other === button)));
        showChannel(channel);
        view.pictures.replaceChildren();
        view.showPictures({ channel, padding, box: answer.window, stride });
      });
      list.append(button);
    }
    const total = element('p', 'explain-line explain-total');
    total.append(
      ...withNode(
        t('The %(channels)s partial sums add up to %(sum)s.', { channels, sum: SLOT }),
        numberNode('strong', sumUnits, decimals, answer.computed - answer.bias),
      ),
    );
    view.body.append(intro, list, windowNode, total);
  } else {
    view.body.append(windowNode);
  }
  showChannel(open);
  view.body.append(biasLine(answer, sumUnits, biasUnits, valueUnits, decimals));
}
