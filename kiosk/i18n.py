"""The languages the kiosk ships, and their message catalogues.

English is the source language: its texts are ``kiosk.messages.DEFAULT_TEXTS``.
Every other language is a gettext catalogue compiled with Babel and shipped in
the package, ``kiosk/locale/<code>/LC_MESSAGES/kiosk.mo``; each entry's context
(``msgctxt``) is the message key and its ``msgid`` the English text, so an
edited English text falls back to English until it is translated again.

A catalogue is read the first time a text is wanted in its language (never at
start: the kiosk's first frame pays nothing for languages nobody picked), by
the standard library's ``gettext``; Babel is only needed to extract and
compile (``scripts/catalogues``).

Standard library only: the configuration's schema reads ``LANGUAGES``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gettext import GNUTranslations

__all__ = [
    "DOMAIN", "LANGUAGES", "LOCALE_DIR", "SOURCE_LANGUAGE", "Language", "catalogue", "drawable", "shipped_language",
]


class Language:
    """A shipped language. A plain class: a dataclass costs the kiosk's first
    frame a millisecond of code generation."""

    __slots__ = ("code", "name", "wide")

    def __init__(self, code: str, name: str, *, wide: bool = False) -> None:
        self.code = code
        #: The language's name in itself: what the picker shows.
        self.name = name
        #: Written with double-width (CJK) characters, which the Linux console's
        #: fonts (TERM=linux, 512 glyphs at most) cannot draw.
        self.wide = wide

    def __repr__(self) -> str:
        return f"Language({self.code!r}, {self.name!r}, wide={self.wide})"


SOURCE_LANGUAGE = "en"

#: Every shipped language, in the order the picker shows them.
LANGUAGES: dict[str, Language] = {
    language.code: language
    for language in (
        Language("en", "English"),
        Language("fr", "Français"),
        Language("de", "Deutsch"),
        Language("zh_Hans", "简体中文", wide=True),
    )
}

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).parent / "locale"

_catalogues: dict[str, GNUTranslations | None] = {}


def catalogue(code: str) -> GNUTranslations | None:
    """The compiled catalogue of ``code``, read once; None for English, an
    unknown language or a missing file (the English texts show instead)."""
    if code == SOURCE_LANGUAGE or code not in LANGUAGES:
        return None
    if code not in _catalogues:
        import gettext

        path = LOCALE_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.mo"
        try:
            with path.open("rb") as handle:
                _catalogues[code] = gettext.GNUTranslations(handle)
        except OSError:
            _catalogues[code] = None
    return _catalogues[code]


#: Chinese tags that mean simplified characters (BCP 47 script, or the regions that use them).
_SIMPLIFIED_CHINESE = {"zh", "zh-hans", "zh-cn", "zh-sg", "zh-my"}


def shipped_language(tag: str) -> str | None:
    """The shipped language a directory's ``preferredLanguage`` names (RFC 2798:
    the syntax of HTTP's Accept-Language, e.g. "fr-CH", "de;q=0.9, en",
    "zh-Hans-CN"): its first tag that is shipped, else None."""
    for part in tag.replace("_", "-").lower().split(","):
        code = part.split(";")[0].strip()
        if not code:
            continue
        if code in _SIMPLIFIED_CHINESE or code.startswith(("zh-hans-", "zh-cn-")):
            return "zh_Hans"
        if code.startswith("zh"):
            continue  # Traditional Chinese is not shipped
        primary = code.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return None


def drawable(code: str, term: str | None) -> bool:
    """Can a terminal of this TERM draw the language? The Linux console
    (TERM=linux) has no CJK glyphs: it would show diamonds."""
    language = LANGUAGES.get(code)
    if language is None:
        return False
    return not (language.wide and (term or "").split("-")[0] == "linux")
