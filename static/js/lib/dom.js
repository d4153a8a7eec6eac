// DOM helpers shared by the pages' modules.

/** A new `tag` element with `className` and text content `text` (each optional). */
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
