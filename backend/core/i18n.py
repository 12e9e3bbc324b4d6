"""The interface's languages (Flask-Babel): Simplified Chinese by default, English second.

Messages are written in English in the code (``gettext``/``_`` in Python, ``_()`` in the
templates) and translated in ``backend/translations/zh/LC_MESSAGES/messages.po``; English
needs no catalog. The language of a request is the user's saved choice, else the ``lang``
cookie (the header's switch), else the browser's Accept-Language, else Chinese. The
catalogs are compiled (.po → .mo, build output, not committed) when the app starts and a
.po is newer than its .mo. See docs/i18n.md."""
import os
import tempfile

from flask import has_request_context, request
from flask_babel import Babel, get_locale

LANGUAGES = {"zh": "中文", "en": "English"}  # each in its own language: what the switch shows
DEFAULT_LANGUAGE = "zh"
COOKIE = "lang"
TRANSLATIONS = os.path.join(os.path.dirname(os.path.dirname(__file__)), "translations")


def select_locale():
    """The request's language: saved choice, cookie, Accept-Language, Chinese."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    from flask_login import current_user

    saved = getattr(current_user, "language", None) if current_user and current_user.is_authenticated else None
    if saved in LANGUAGES:
        return saved
    chosen = request.cookies.get(COOKIE)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LANGUAGE


def current_language():
    """'zh' or 'en' (outside a request: Chinese)."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT_LANGUAGE


def html_lang():
    """The <html lang> value of the current language."""
    return "zh-CN" if current_language() == "zh" else "en"


class Translated(dict):
    """Codes → lazy labels (``lazy_gettext``, or a function that returns the label, e.g. a
    ``pgettext`` with a context). Reading it (``d[key]``, ``get``, ``items``, ``values``) gives
    plain ``str`` in the current language: safe in JSON, CSV, comparisons and templates."""

    def __getitem__(self, key):
        label = dict.__getitem__(self, key)
        return str(label() if callable(label) else label)

    def get(self, key, default=None):
        return self[key] if key in self else default

    def items(self):
        return [(key, self[key]) for key in self]

    def values(self):
        return [self[key] for key in self]


def compile_catalogs(directory=TRANSLATIONS):
    """Compile each messages.po newer than its messages.mo; the .mo is written to a temporary
    file and renamed, so concurrent app starts (test processes, server workers) never read a
    half-written catalog."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for locale in os.listdir(directory):
        po_path = os.path.join(directory, locale, "LC_MESSAGES", "messages.po")
        mo_path = po_path[:-3] + ".mo"
        if not os.path.exists(po_path):
            continue
        if os.path.exists(mo_path) and os.path.getmtime(mo_path) >= os.path.getmtime(po_path):
            continue
        with open(po_path, "rb") as po:
            catalog = read_po(po, locale=locale)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(mo_path), suffix=".mo.tmp")
        with os.fdopen(fd, "wb") as mo:
            write_mo(mo, catalog)
        os.replace(tmp, mo_path)


def init_app(app):
    compile_catalogs()
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "Asia/Shanghai")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", TRANSLATIONS)
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals.update(html_lang=html_lang, current_language=current_language, LANGUAGES=LANGUAGES)
