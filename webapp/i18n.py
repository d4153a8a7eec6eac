"""The interface's languages: Flask-Babel for the templates, the same catalogues as JSON for the ES modules.

English is the source language (the msgids); every other language is one
catalogue, ``webapp/translations/<lang>/LC_MESSAGES/messages.po``, compiled
to the ``messages.mo`` beside it (``make translations``). A third language
is a new catalogue, nothing else: the languages offered are the folders there.

``TRANSLATIONS_DIR`` in the app's config points elsewhere (tests use it).

The language of a page: ``?lang=<code>`` (remembered in a cookie), else the
cookie, else the browser's ``Accept-Language``, else English. The JSON API
stays English: its messages are for programs and logs.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import read_mo
from flask import Blueprint, Flask, Response, abort, current_app, jsonify, request, url_for
from flask_babel import Babel, get_locale

SOURCE_LANGUAGE = "en"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600

bp = Blueprint("i18n", __name__)


def translations_dir() -> Path:
    return Path(current_app.config.get("TRANSLATIONS_DIR") or TRANSLATIONS)


def languages() -> tuple[str, ...]:
    """The languages offered: English, then one per compiled catalogue."""
    return _languages(translations_dir())


@cache
def _languages(folder: Path) -> tuple[str, ...]:
    compiled = sorted(path.parent.parent.name for path in folder.glob("*/LC_MESSAGES/messages.mo"))
    return (SOURCE_LANGUAGE, *compiled)


def select_language() -> str:
    """``?lang=``, else the remembered choice, else ``Accept-Language``, else English."""
    offered = languages()
    asked = request.args.get("lang", "")
    if asked in offered:
        return asked
    remembered = request.cookies.get(COOKIE, "")
    if remembered in offered:
        return remembered
    return request.accept_languages.best_match(offered) or SOURCE_LANGUAGE


def current_language() -> str:
    return str(get_locale() or SOURCE_LANGUAGE)


def language_name(code: str) -> str:
    """A language's name in that language: 日本語, English."""
    return Locale.parse(code).get_display_name(code) or code


def catalogue(code: str) -> dict:
    """A compiled catalogue as the ES modules read it: ``{msgid: msgstr}``, and
    ``{msgid: [forms...]}`` for a message with a plural (keyed by its singular).
    Untranslated messages are left out, so ``t()`` falls back to the English."""
    return _catalogue(translations_dir(), code)


@cache
def _catalogue(folder: Path, code: str) -> dict:
    if code == SOURCE_LANGUAGE:
        return {"language": code, "plurals": 2, "messages": {}}
    with open(folder / code / "LC_MESSAGES" / "messages.mo", "rb") as file:
        compiled = read_mo(file)
    messages: dict[str, str | list[str]] = {}
    for message in compiled:
        if not message.id or not message.string:
            continue
        if isinstance(message.id, (list, tuple)):  # a plural: (singular, plural) -> one string per form
            if all(message.string):
                messages[message.id[0]] = list(message.string)
        else:
            messages[message.id] = message.string
    return {"language": code, "plurals": compiled.num_plurals, "messages": messages}


def catalogue_version(code: str) -> str:
    """Changes whenever the catalogue does, so its URL can be cached for long."""
    return _catalogue_version(translations_dir(), code)


@cache
def _catalogue_version(folder: Path, code: str) -> str:
    if code == SOURCE_LANGUAGE:
        return "0"
    return hashlib.sha256((folder / code / "LC_MESSAGES" / "messages.mo").read_bytes()).hexdigest()[:12]


@bp.get("/i18n/<code>.json")
def catalogue_json(code: str) -> Response:
    """Serve one language's catalogue to the ES modules (static/js/lib/i18n.js)."""
    if code not in languages():
        abort(404)
    response = jsonify(catalogue(code))
    response.cache_control.public = True
    response.cache_control.max_age = COOKIE_MAX_AGE if request.args.get("v") == catalogue_version(code) else 300
    return response


def language_url(code: str) -> str:
    """This page in another language: the same path and query, with ``lang=code``."""
    arguments = request.args.to_dict(flat=False)
    arguments["lang"] = [code]
    if request.endpoint is None:
        return f"?lang={code}"
    return url_for(request.endpoint, **(request.view_args or {}), **arguments)


def template_globals() -> dict:
    code = current_language()
    return {
        "language": code,
        "other_languages": [(other, language_name(other)) for other in languages() if other != code],
        "language_url": language_url,
        "catalogue_url": None
        if code == SOURCE_LANGUAGE
        else url_for("i18n.catalogue_json", code=code, v=catalogue_version(code)),
    }


def remember_choice(response: Response) -> Response:
    """Keep a ``?lang=`` choice in a cookie, so that the next page is rendered in it too."""
    if response.mimetype != "text/html":
        return response
    chosen = request.args.get("lang", "")
    if chosen in languages():
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="Lax", httponly=True)
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    folder = app.config.get("TRANSLATIONS_DIR") or TRANSLATIONS
    Babel(app, locale_selector=select_language, default_translation_directories=str(folder))
    app.register_blueprint(bp)
    app.context_processor(template_globals)
    app.after_request(remember_choice)
