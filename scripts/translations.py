"""The message catalogs: `update` adds the messages found in the code and templates to
backend/translations/<locale>/LC_MESSAGES/messages.po (new ones untranslated) and drops the
ones no longer used; `check` lists what is wrong with a catalog (untranslated, fuzzy,
unused, or a translation whose %(name)s placeholders differ from its English) and exits 1.

    python scripts/translations.py update
    python scripts/translations.py check
"""
import os
import re
import sys

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRANSLATIONS = os.path.join(ROOT, "backend", "translations")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None,
            "lazy_ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def extracted():
    """A catalog of every message in backend/ (code and templates), per babel.cfg."""
    with open(os.path.join(ROOT, "babel.cfg")) as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, "babel.cfg")
    template = Catalog(project="chain-einvoice")
    for filename, lineno, message, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True):
        template.add(message, locations=[(filename, lineno)], auto_comments=comments, context=context)
    return template


def catalog_path(locale):
    return os.path.join(TRANSLATIONS, locale, "LC_MESSAGES", "messages.po")


def load(locale):
    with open(catalog_path(locale), "rb") as po:
        return read_po(po, locale=locale)


def update(locale):
    """Merge the extracted messages into the locale's catalog (no fuzzy guesses, obsolete dropped)."""
    catalog = load(locale)
    created = catalog.creation_date  # a stable header: no merge conflict for a date
    catalog.update(extracted(), no_fuzzy_matching=True, update_header_comment=False)
    catalog.obsolete.clear()
    catalog.creation_date = created
    save(catalog, locale)


def save(catalog, locale):
    """Writes the catalog; locations without line numbers, so moving code changes nothing."""
    with open(catalog_path(locale), "wb") as po:
        write_po(po, catalog, width=100, ignore_obsolete=True, include_previous=False, include_lineno=False)


def strings(message):
    return message.id if isinstance(message.id, (list, tuple)) else (message.id,)


def problems(locale):
    """What is wrong with the locale's catalog, one line each (empty when it is complete)."""
    catalog, wanted = load(locale), extracted()
    found = []
    for message in wanted:
        if not message.id:
            continue
        have = catalog.get(message.id, context=message.context)
        where = ", ".join(f"{f}:{n}" for f, n in message.locations[:2])
        translations = () if have is None else (have.string if isinstance(have.string, (list, tuple)) else (have.string,))
        if have is None or not all(translations):
            found.append(f"untranslated: {message.id!r} ({where})")
        elif have.fuzzy:
            found.append(f"fuzzy: {message.id!r} ({where})")
        else:
            names = set(PLACEHOLDER.findall(" ".join(strings(message))))
            if any(set(PLACEHOLDER.findall(text)) != names for text in translations):
                found.append(f"placeholders differ: {message.id!r} ({where})")
    for message in catalog:
        if message.id and wanted.get(message.id, context=message.context) is None:
            found.append(f"unused: {message.id!r}")
    return found


def main(argv):
    command = argv[1] if len(argv) > 1 else "check"
    locales = [name for name in sorted(os.listdir(TRANSLATIONS)) if os.path.exists(catalog_path(name))]
    if command == "update":
        for locale in locales:
            update(locale)
        return 0
    if command == "check":
        found = [f"{locale}: {line}" for locale in locales for line in problems(locale)]
        print("\n".join(found) or "the catalogs are complete")
        return 1 if found else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
