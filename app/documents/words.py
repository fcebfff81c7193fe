"""The words of printed documents, from the message catalog (docs/architecture.md §7), in one language or two.

A PDF is written in one language: the station's (`station.toml` `language`). The evidence pack may
instead be written in both catalog languages side by side, Chinese first (`BILINGUAL`), because the
person who reads it — a platform's dispute desk, a carrier's claims office — is not the station's
packer and may read either. Either way every text comes from the catalog: a document's code calls
`words("English message id", field=value)`, bound as `_` so that Babel extracts the id
(docs/i18n.md); with two languages the two translations are joined, and said once when they are the
same (a code, a unit, a name).

`Phrase` (`app.i18n`, the one the bench's messages use too) is a message decided now and worded
later — the SLA verdict is judged once and printed in whichever language the document wants; its
fields may be phrases themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.errors import BadValue
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES, Phrase, Words

BILINGUAL = ("zh_CN", "en")
BOTH = "both"  # the `--lang` value that asks for BILINGUAL


@dataclass(frozen=True)
class DocumentWords:
    """Translates a document's message ids into its language(s)."""

    langs: tuple[str, ...] = (DEFAULT_LANGUAGE,)

    def __call__(self, message: str | Words, sep: str = " ", **fields: object) -> str:
        """`message` (a msgid, or words: a phrase, a named code) in every language of the document, joined
        by `sep`; `fields` fill a msgid's `{names}`."""
        phrase = message if isinstance(message, Words) else Phrase(message, fields)
        texts: list[str] = []
        for lang in self.langs:
            text = phrase.text(lang)
            if text not in texts:
                texts.append(text)
        return sep.join(texts)

    def pick(self, zh: str, en: str, sep: str = " ") -> str:
        """A pair a data table already holds in both languages (carrier names, parcel states)."""
        texts: list[str] = []
        for lang in self.langs:
            text = zh if lang.startswith("zh") else en
            if text not in texts:
                texts.append(text)
        return sep.join(texts)

    @property
    def chinese(self) -> bool:
        return any(lang.startswith("zh") for lang in self.langs)


BILINGUAL_WORDS = DocumentWords(BILINGUAL)


def document_words(lang: str) -> DocumentWords:
    """The words of a document in `lang` (a catalog language), or in both (`BOTH`)."""
    if lang == BOTH:
        return BILINGUAL_WORDS
    if lang not in LANGUAGES:
        raise BadValue(f"document language must be one of {', '.join((*LANGUAGES, BOTH))}, not {lang!r}")
    return DocumentWords((lang,))
