"""Every string of the interface in every language, and the language a page is served in.

The strings are extracted from the sources (templates' _(), ES modules' t()/tn())
the way `make translations-update` does, so a string added to a template or a
module without its translation fails here even if nobody updated the .po.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po

from webapp import create_app
from webapp.i18n import TRANSLATIONS, languages

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
# A call of t( or tn( in an ES module (not a method such as .t( or a longer name such as split().
JS_CALL = re.compile(r"(?<![\w.$])(t|tn)\(")


def source_messages() -> dict[str, tuple[str, ...]]:
    """Every msgid in the sources (babel.cfg's extraction): singular -> (singular[, plural]), with where."""
    with open(ROOT / "babel.cfg") as file:
        method_map, options_map = parse_mapping_cfg(file)
    found: dict[str, tuple[str, ...]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(ROOT, method_map, options_map):
        ids = message if isinstance(message, tuple) else (message,)
        if not ids[0]:
            raise AssertionError(f"{filename}:{lineno}: a translated string must be a literal")
        found.setdefault(ids[0], ids)
    return found


def as_tuple(value):
    return tuple(value) if isinstance(value, list) else value


def catalogues() -> list[str]:
    return [path.name for path in sorted(TRANSLATIONS.iterdir()) if (path / "LC_MESSAGES" / "messages.po").is_file()]


def read_catalogue(code: str):
    with open(TRANSLATIONS / code / "LC_MESSAGES" / "messages.po", "rb") as file:
        return read_po(file, locale=code)


def test_there_is_a_japanese_catalogue_and_the_sources_have_strings():
    assert "ja" in catalogues()
    with create_app({"TESTING": True}).app_context():
        assert languages() == ("en", *catalogues())
    messages = source_messages()
    # Both pages and the ES modules are translated (a template and a module each give strings).
    assert "Draw a digit" in messages and "Read as %(digit)s, %(percent)s sure." in messages


@pytest.mark.parametrize("code", catalogues())
def test_every_string_in_the_sources_is_translated(code):
    catalogue = read_catalogue(code)
    problems = []
    for msgid, ids in source_messages().items():
        message = catalogue.get(ids if len(ids) > 1 else msgid)
        if message is None:
            problems.append(f"missing (run `make translations-update`): {msgid!r}")
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        if not all(form.strip() for form in forms) or message.fuzzy:
            problems.append(f"untranslated{' (fuzzy)' if message.fuzzy else ''}: {msgid!r}")
            continue
        wanted = set(PLACEHOLDER.findall(" ".join(ids)))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) != wanted:
                problems.append(f"placeholders differ: {msgid!r} -> {form!r}")
    assert not problems, f"{code}: {len(problems)} problems:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", catalogues())
def test_the_compiled_catalogue_is_the_po(code):
    """The committed .mo (what the app serves) is the .po compiled: `make translations` was run."""
    source = {as_tuple(message.id): as_tuple(message.string) for message in read_catalogue(code) if message.id and not message.fuzzy}
    with open(TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo", "rb") as file:
        compiled = {as_tuple(message.id): as_tuple(message.string) for message in read_mo(file) if message.id}
    assert compiled == {key: value for key, value in source.items() if value and (not isinstance(value, tuple) or all(value))}, (
        f"{code}: messages.mo is out of date; run `make translations`"
    )


def test_every_t_call_in_the_es_modules_is_extracted():
    """t(variable) or a call the extractor cannot read would never be translated: each call site must be found."""
    with open(ROOT / "babel.cfg") as file:
        method_map, options_map = parse_mapping_cfg(file)
    extracted: dict[str, int] = {}
    for filename, *_ in extract_from_dir(ROOT, method_map, options_map):
        if filename.endswith(".js"):
            extracted[filename] = extracted.get(filename, 0) + 1
    calls: dict[str, int] = {}
    for path in sorted((ROOT / "static" / "js").rglob("*.js")):
        relative = path.relative_to(ROOT).as_posix()
        if relative == "static/js/lib/i18n.js":
            continue  # the definitions
        code = [line.split("//", 1)[0] for line in path.read_text().splitlines()]
        found = sum(len(JS_CALL.findall(line)) for line in code if not line.lstrip().startswith("*"))
        if found:
            calls[relative] = found
    # (babel reports a call at the line where it ends, so files are compared by count, not by line)
    assert calls == extracted, "t()/tn() calls that pybabel does not extract (use a string literal)"


# The language a page is served in.


@pytest.fixture()
def pages_client():
    return create_app({"TESTING": True}).test_client()


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


@pytest.mark.parametrize("path", ["/", "/layers"])
def test_lang_parameter_chooses_and_is_remembered(pages_client, path):
    response = pages_client.get(f"{path}?lang=ja")
    assert html_lang(response) == "ja"
    assert "ネットワーク" in response.get_data(as_text=True)
    assert "lang=ja" in response.headers["Set-Cookie"]
    # The next page without ?lang= keeps the choice, over the browser's language.
    other = "/layers" if path == "/" else "/"
    assert html_lang(pages_client.get(other, headers={"Accept-Language": "en"})) == "ja"
    assert html_lang(pages_client.get(f"{other}?lang=en")) == "en"
    assert html_lang(pages_client.get(other, headers={"Accept-Language": "ja"})) == "en"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [("ja", "ja"), ("ja-JP,ja;q=0.9,en;q=0.8", "ja"), ("en-US,en;q=0.9,ja;q=0.5", "en"), ("fr,de", "en"), ("", "en")],
)
def test_accept_language_decides_without_a_choice(pages_client, accept, expected):
    response = pages_client.get("/", headers={"Accept-Language": accept})
    assert html_lang(response) == expected
    assert "Set-Cookie" not in response.headers
    assert "Accept-Language" in response.headers["Vary"]


def test_an_unknown_lang_is_ignored(pages_client):
    response = pages_client.get("/?lang=xx", headers={"Accept-Language": "ja"})
    assert response.status_code == 200 and html_lang(response) == "ja"
    assert "Set-Cookie" not in response.headers


def test_the_switch_links_to_the_other_language_keeping_the_query(pages_client):
    html = pages_client.get("/layers?lang=ja&model=lenet").get_data(as_text=True)
    switch = re.search(r'<nav class="language" data-testid="lang"[^>]*>(.*?)</nav>', html, re.S).group(1)
    link = re.search(r'<a href="([^"]+)" hreflang="en" lang="en">English</a>', switch)
    assert link, switch
    assert sorted(link.group(1).replace("&amp;", "&").split("?")[1].split("&")) == ["lang=en", "model=lenet"]
    html = pages_client.get("/?lang=en").get_data(as_text=True)
    assert '<a href="/?lang=ja" hreflang="ja" lang="ja">日本語</a>' in html


def test_the_es_modules_get_the_same_catalogue(pages_client):
    html = pages_client.get("/?lang=ja").get_data(as_text=True)
    url = re.search(r'data-catalogue="([^"]+)"', html).group(1)
    served = pages_client.get(url)
    assert served.status_code == 200 and "max-age" in served.headers["Cache-Control"]
    body = served.get_json()
    assert body["language"] == "ja" and body["plurals"] == 1
    for message in read_catalogue("ja"):
        if isinstance(message.id, tuple):  # a plural is keyed by its singular, with every form
            assert body["messages"][message.id[0]] == list(message.string)
        elif message.id:
            assert body["messages"][message.id] == message.string
    # English pages need none; an unknown language is a 404.
    assert "data-catalogue" not in pages_client.get("/?lang=en").get_data(as_text=True)
    assert pages_client.get("/i18n/xx.json").status_code == 404


def test_the_json_api_stays_english(pages_client):
    response = pages_client.post("/api/predict?lang=ja", data=b"", headers={"Content-Type": "image/png", "Accept-Language": "ja"})
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message.isascii(), message


def test_a_third_language_is_one_more_catalogue(tmp_path):
    """French, added as a compiled catalogue beside the Japanese one and nothing else, is offered and served."""
    shutil.copytree(TRANSLATIONS / "ja", tmp_path / "ja")
    french = Catalog(locale="fr")
    french.add("Draw a digit", "Dessinez un chiffre")
    french.add("Inside the network", "Dans le réseau")
    french.add(
        ("output %(shape)s · %(num)s parameter", "output %(shape)s · %(num)s parameters"),
        ("sortie %(shape)s · %(num)s paramètre", "sortie %(shape)s · %(num)s paramètres"),
    )
    (tmp_path / "fr" / "LC_MESSAGES").mkdir(parents=True)
    with open(tmp_path / "fr" / "LC_MESSAGES" / "messages.mo", "wb") as file:
        write_mo(file, french)
    app = create_app({"TESTING": True, "TRANSLATIONS_DIR": str(tmp_path)})
    client = app.test_client()

    html = client.get("/?lang=fr").get_data(as_text=True)
    assert '<html lang="fr"' in html and "Dessinez un chiffre" in html
    assert "Undo" in html  # not translated in this catalogue: the English stays
    assert 'hreflang="en" lang="en">English</a>' in html and 'hreflang="ja" lang="ja">日本語</a>' in html
    assert html_lang(app.test_client().get("/layers", headers={"Accept-Language": "fr-FR,fr;q=0.9"})) == "fr"
    served = client.get("/i18n/fr.json").get_json()
    # As many plural forms as Babel's CLDR data gives French (2 before Babel 2.19, 3 since): the app
    # serves what the catalogue says, whichever Babel made it.
    assert served["plurals"] == french.num_plurals >= 2
    assert served["messages"]["Inside the network"] == "Dans le réseau"
    assert served["messages"]["output %(shape)s · %(num)s parameter"] == [
        "sortie %(shape)s · %(num)s paramètre",
        "sortie %(shape)s · %(num)s paramètres",
    ]
