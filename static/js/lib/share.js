// The page's URL carries what is on the pad, and with it the network and the
// language, so copying it shares exactly what is on screen:
//   ?model=<name>&lang=<en|ja>&d=<strokes, see strokecode.js>
//   ?model=<name>&lang=<en|ja>&mnist=<index of an MNIST test digit>
// Both pages read it on opening; nothing in it can break the page: data that
// does not decode is ignored.

import { decodeStrokes, encodeStrokes } from './strokecode.js';

export const MNIST_TEST_SIZE = 10_000;
// The server refuses request lines over 4094 bytes (gunicorn's limit_request_line). A digit takes a
// few hundred characters; a drawing whose code is longer than this is left out of the URL.
export const MAX_CODE = 3500;

/** The picture a URL's query carries: `{strokes}`, `{mnist}`, `{invalid: true}` or null for none. */
export function pictureFromQuery(search) {
  const params = new URLSearchParams(search);
  if (params.has('mnist')) {
    const text = params.get('mnist');
    const index = /^\d{1,5}$/.test(text) ? Number(text) : NaN;
    return index < MNIST_TEST_SIZE ? { mnist: index } : { invalid: true };
  }
  if (params.has('d')) {
    const strokes = decodeStrokes(params.get('d'));
    return strokes ? { strokes } : { invalid: true };
  }
  return null;
}

/** The network and language on show now. */
function context() {
  const chooser = document.querySelector('[data-testid=model-select]');
  const chosen = chooser?.value ?? chooser?.querySelector?.('input:checked')?.value;
  // The server names the network it serves this page with; the URL's own `model` only if it did not.
  const model = chosen || document.body.dataset.model || new URLSearchParams(location.search).get('model');
  return { model, lang: document.documentElement.lang };
}

/**
 * `path` with the query `base` (what the URL says already) and the picture: with a picture, the
 * network and language too, so the URL shares exactly what is on screen; without one, only what
 * `base` had, the picture taken out. A drawing too long to share is left out.
 */
export function urlFor(path, picture, base = '') {
  const params = new URLSearchParams(base);
  params.delete('d');
  params.delete('mnist');
  if (picture) {
    const { model, lang } = context();
    if (model) params.set('model', model);
    if (lang) params.set('lang', lang);
    if (picture.mnist !== undefined) params.set('mnist', String(picture.mnist));
    else if (picture.strokes?.length) {
      const code = encodeStrokes(picture.strokes);
      if (code.length <= MAX_CODE) params.set('d', code);
    }
  }
  const query = params.toString();
  return query ? `${path}?${query}` : path;
}

/**
 * Write the picture into this page's URL (replacing the history entry, so
 * Back leaves the page rather than stepping through strokes), and into the
 * links that carry it: `a[data-carry=picture]` get the picture,
 * `a[data-carry=context]` only the network and language.
 */
export function writeUrl(picture) {
  const url = urlFor(location.pathname, picture, location.search);
  if (url !== location.pathname + location.search) history.replaceState(history.state, '', url + location.hash);
  const here = new URLSearchParams(new URL(url, location.href).search);
  for (const link of document.querySelectorAll('a[data-carry]')) {
    const target = new URL(link.href, location.href);
    if (link.dataset.carry === 'picture') {
      link.href = urlFor(target.pathname, picture, target.search);
    } else {
      for (const name of ['model', 'lang']) if (here.has(name)) target.searchParams.set(name, here.get(name));
      link.href = target.pathname + target.search;
    }
  }
}
