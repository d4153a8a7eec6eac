// The interface's words in the page's language, from the same catalogue the templates use.
//
//   t('Read as %(digit)s, %(percent)s sure.', { digit: 7, percent: '98%' })
//   tn('%(num)s filter', '%(num)s filters', count)       // count is also %(num)s
//
// The English text is the key and the fallback. Placeholders are Python's
// `%(name)s`, as in the templates' _(), and a literal % is written %%.
// webapp/i18n.py serves the compiled catalogue of the page's language
// (translations/<lang>/LC_MESSAGES/messages.mo) at <html data-catalogue>;
// English pages have none. Write each string as a literal in the call, so
// `pybabel extract` (babel.cfg) finds it: never t(variable).

const root = document.documentElement;

/** The page's language, as <html lang> says (en, ja, ...). */
export const language = root.lang || 'en';

const catalogue = await load(root.dataset.catalogue);

async function load(url) {
  const english = { plurals: 2, messages: {} };
  if (!url) return english;
  try {
    const response = await fetch(url);
    if (response.ok) return await response.json();
    console.warn(`No ${language} catalogue (${response.status}): showing English.`);
  } catch (error) {
    console.warn(`No ${language} catalogue (${error}): showing English.`);
  }
  return english;
}

function format(text, params) {
  return text.replace(/%(?:\((\w+)\))?s|%%/g, (match, name) => {
    if (match === '%%') return '%';
    if (name !== undefined && name in params) return String(params[name]);
    console.error(`i18n: no value for ${match} in "${text}"`);
    return match;
  });
}

/** `msgid` in the page's language, with `%(name)s` replaced by `params.name`. */
export function t(msgid, params = {}) {
  const translated = catalogue.messages[msgid];
  return format(typeof translated === 'string' ? translated : msgid, params);
}

// gettext numbers a language's plural forms in CLDR's order of categories.
const CATEGORIES = ['zero', 'one', 'two', 'few', 'many', 'other'];
const rules = new Intl.PluralRules(language);
const used = CATEGORIES.filter((category) => rules.resolvedOptions().pluralCategories.includes(category));

/** The form of `singular`/`plural` for `count`, formatted with `params` and `num` = count. */
export function tn(singular, plural, count, params = {}) {
  const values = { num: count, ...params };
  const forms = catalogue.messages[singular];
  if (Array.isArray(forms)) {
    const index = catalogue.plurals === 1 ? 0 : Math.min(used.indexOf(rules.select(count)), forms.length - 1);
    return format(forms[index], values);
  }
  return format(count === 1 ? singular : plural, values);
}

const numbers = new Intl.NumberFormat(language);

/** A number as the page's language writes it (1,234 / 1.234 / ...). */
export function formatNumber(value) {
  return numbers.format(value);
}
