// The chosen network: the page's <select data-testid=model-select> and ?model=<name> in the page's
// URL, so both pages (and a copied link) show the same network.

const select = document.querySelector('[data-testid=model-select]');

/** The name of the chosen network. */
export function chosenModel() {
  return select.value;
}

/** The chosen network's input side: 28, or 32 for the networks that take MNIST centred in 32x32. */
export function inputSize() {
  return Number(select.selectedOptions[0].dataset.inputSize);
}

/** An API URL of the page asking for the chosen network, with `params` added to its query. */
export function apiUrl(url, params = {}) {
  const target = new URL(url, window.location.href);
  target.searchParams.set('model', select.value);
  // The checkpoint of its training the page shows (lib/checkpoints.js); absent: the network served.
  const checkpoint = new URL(window.location.href).searchParams.get('checkpoint');
  if (checkpoint) target.searchParams.set('checkpoint', checkpoint);
  for (const [name, value] of Object.entries(params)) target.searchParams.set(name, String(value));
  return `${target.pathname}${target.search}`;
}

function putInUrls() {
  const page = new URL(window.location.href);
  page.searchParams.set('model', select.value);
  page.searchParams.delete('checkpoint'); // another network's checkpoints are its own
  window.history.replaceState(window.history.state, '', page);
  // The links to the other page keep the network.
  document.querySelectorAll('a[data-keeps-model]').forEach((link) => {
    const target = new URL(link.href);
    target.searchParams.set('model', select.value);
    link.href = target.href;
  });
}

/** Choose network `name` as if the user had picked it in the select. */
export function chooseModel(name) {
  if (select.value === name) return;
  select.value = name;
  select.dispatchEvent(new Event('change'));
}

/** Call `onChange(name)` whenever the user picks another network (the URL already says it). */
export function onModelChange(onChange) {
  select.addEventListener('change', () => {
    putInUrls();
    onChange(select.value);
  });
}

// A ?model= naming no served network shows the default: say so in the URL too.
const asked = new URL(window.location.href).searchParams.get('model');
if (asked !== null && asked !== select.value) putInUrls();
