// The language switch keeps the page as it is: same path, query and #hash, another ?lang=.
// (The server already writes each link with the path and query; only the browser knows the hash.)

document.querySelectorAll('[data-testid=lang] a[hreflang]').forEach((link) => {
  link.addEventListener('click', () => {
    const url = new URL(window.location.href);
    url.searchParams.set('lang', link.hreflang);
    link.href = url.href;
  });
});
