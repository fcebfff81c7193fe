"""Message catalogs for everything a person reads: `translator(lang).gettext(text)` (Qt-free).

The catalogs are gettext `.po` files in the repository, `assets/locale/<lang>/LC_MESSAGES/packbench.po`,
extracted from the sources with Babel (`pybabel extract -F babel.cfg`, see docs/i18n.md) and read
at run time with Babel's `pofile` reader, which compiles them in memory: no `.mo` build step can be
forgotten. Message ids are the English text; an English catalog entry without a translation, and
any id a catalog lacks, falls back to the id itself. Fuzzy entries are not used.

`pick_language` chooses from a user's setting, else an HTTP `Accept-Language` header, else Chinese
(the packers' language and the default of a fresh install). `environment_language` is the CLI's:
the locale of the process's environment, as every gettext program reads it.

Messages with details: `render(msgid, lang, values)` translates the template, then fills it. A
detail that is itself words — a bad-scan reason, a rule's title, the action a supervisor approves —
is `Words` — a `Phrase` (a msgid with fields of its own) or a code with its name (`app.terms.Named`),
or a tuple of them — and is translated into the same language before it is formatted in. A
plain value (a person's or product's name, a code, a number) goes in as it is. Outside a sentence
(JSON, audit facts, logs) `plain()` gives a detail's English words, or a named code's code.
"""

from __future__ import annotations

import os
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from babel.messages.pofile import read_po

DOMAIN = "packbench"
LANGUAGES = ("zh_CN", "en")
DEFAULT_LANGUAGE = "zh_CN"
ENGLISH = "en"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "assets" / "locale"
CONTEXT_SEPARATOR = "\x04"  # between a msgctxt and its msgid, as in a compiled gettext catalog

_lock = threading.Lock()
_cache: dict[str, Translator] = {}


@dataclass(frozen=True)
class Translator:
    lang: str
    messages: dict[str, str] = field(default_factory=dict)
    plurals: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def gettext(self, message: str) -> str:
        """`message` in this language; without a translation its id (a context marked `C_` dropped)."""
        return self.messages.get(message) or message.rpartition(CONTEXT_SEPARATOR)[2]

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        forms = self.plurals.get(singular)
        if forms and all(forms):
            return forms[0] if len(forms) == 1 else forms[0 if n == 1 else 1]
        return singular if n == 1 else plural


def N_(message: str) -> str:  # gettext's name for "mark for extraction only"
    """Mark a message id for extraction where it is translated later (a table of labels)."""
    return message


def C_(context: str, message: str) -> str:
    """`N_` with a context (gettext's msgctxt): one English word that means two things — a case's
    state "open" (待处理) and the console's link "Open" (打开) — gets a catalog entry for each meaning.
    The id is gettext's own encoding, context + EOT + msgid, so `gettext` and everything built on it
    (`render`, `Phrase`, named codes, the console's `_`) find the entry; untranslated it reads as the
    msgid alone. babel.cfg extracts it (`keywords = C_:1c,2`)."""
    return f"{context}{CONTEXT_SEPARATOR}{message}"


def load(lang: str, directory: Path = LOCALE_DIR) -> Translator:
    """Read one catalog; a missing catalog translates nothing (English ids)."""
    path = directory / lang / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not path.exists():
        return Translator(lang)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for message in catalog:
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, tuple):
            plurals[str(message.id[0])] = tuple(str(s) for s in message.string or ())
        elif message.string:
            key = str(message.id) if not message.context else C_(str(message.context), str(message.id))
            messages[key] = str(message.string)
    return Translator(lang, messages, plurals)


def translator(lang: str) -> Translator:
    """The translator of a language (cached; an unknown language gets the default one)."""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    with _lock:
        found = _cache.get(lang)
        if found is None:
            found = _cache[lang] = load(lang)
    return found


def pick_language(setting: str | None, accept_language: str | None) -> str:
    if setting in LANGUAGES:
        return str(setting)
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:500].split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        ranked.append((-quality, index, tag.strip().lower()))
    for _, _, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANGUAGE


def environment_language(environ: Mapping[str, str] | None = None) -> str:
    """The language of the CLI's own lines, read from the environment as GNU gettext reads it (git, apt,
    coreutils). The messages locale is the first set of LC_ALL, LC_MESSAGES, LANG; when it is C or
    POSIX, or nothing is set (which is C), the words are English whatever LANGUAGE says, so a script
    or service under LC_ALL=C always reads the same lines. Otherwise LANGUAGE, a colon-separated list
    of preferences, comes first: its first entry with a catalog of ours decides (none: English, as
    gettext shows the msgid). Without LANGUAGE the locale decides. zh_* is Chinese, anything else English."""
    env = os.environ if environ is None else environ
    locale = next((env[name] for name in ("LC_ALL", "LC_MESSAGES", "LANG") if env.get(name)), "C")
    if _locale_name(locale) in ("C", "POSIX"):
        return ENGLISH
    preferences = [_locale_name(entry) for entry in env.get("LANGUAGE", "").split(":") if entry.strip()]
    if preferences:
        return next((_catalog_language(name) for name in preferences if name.lower().startswith(("zh", "en"))),
                    ENGLISH)
    return _catalog_language(_locale_name(locale))


def _locale_name(locale: str) -> str:
    """`zh_CN` of `zh_CN.UTF-8`, `en_GB` of `en_GB@euro`."""
    return locale.strip().split(".")[0].split("@")[0]


def _catalog_language(name: str) -> str:
    return "zh_CN" if name.lower().startswith("zh") else ENGLISH


# Between the items of a list of words (the rules that hold an order): Chinese separates with "；".
LIST_SEPARATOR = N_("; ")


@runtime_checkable
class Words(Protocol):
    """A detail that is words: worded in a message's language inside it, plain outside one."""

    def text(self, lang: str) -> str: ...

    def plain(self) -> str: ...


@dataclass(frozen=True)
class Phrase:
    """A message decided now and worded later: a msgid (mark it with `N_`) and its fields, which may
    be words themselves (a Phrase, a named code, a tuple of them)."""

    message: str
    fields: Mapping[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return render(self.message, lang, self.fields)

    def plain(self) -> str:
        return self.text(ENGLISH)

    def __str__(self) -> str:
        return self.plain()


def localize(value: Any, lang: str) -> Any:
    """A detail as it goes into a `lang` sentence: words worded (a tuple of them joined), the rest as is."""
    if isinstance(value, Words):
        return value.text(lang)
    if isinstance(value, tuple) and value and all(isinstance(part, Words) for part in value):
        return translator(lang).gettext(LIST_SEPARATOR).join(part.text(lang) for part in value)
    return value


def plain(value: Any) -> Any:
    """A detail outside a sentence (JSON, an audit fact): words as their English text, a code as its code."""
    if isinstance(value, Words):
        return value.plain()
    if isinstance(value, tuple) and value and all(isinstance(part, Words) for part in value):
        return localize(value, ENGLISH)
    return value


def placeholders(msgid: str) -> set[str]:
    """The names of the fields a msgid is filled from: "Hello {operator}" → {"operator"}."""
    try:
        return {name for _, name, _, _ in string.Formatter().parse(msgid) if name}
    except ValueError:  # an unbalanced brace: a text with no fields
        return set()


def render(msgid: str, lang: str, values: Mapping[str, Any]) -> str:
    """`msgid` in `lang`, filled from `values`. A value the template lacks is left as written rather
    than failing at the bench (a catalog entry with a mistyped placeholder must not stop a scan)."""
    template = translator(lang).gettext(msgid)
    if not values:
        return template
    try:
        return template.format(**{name: localize(value, lang) for name, value in values.items()})
    except (KeyError, IndexError, ValueError):
        return template
