"""The message catalogues (kiosk/locale): complete, translated, compiled.

Every public message (``kiosk.messages.translatable``) is in every shipped
catalogue, translated (not empty, not fuzzy, not still the English), with the
same ``{fields}``; each .mo is exactly what Babel compiles from its .po; and
the kiosk reads them with the standard library only when a language is used.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk import i18n, messages
from kiosk.config import KioskSettings, QuestionsSettings
from kiosk.i18n import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE

TRANSLATED = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
PUBLIC = {key: english for key, english in messages.DEFAULT_TEXTS.items() if messages.translatable(key)}

#: Entries that are rightly the same as the English in that language.
SAME_AS_ENGLISH = {
    "fr": {"ok", "code.label", "error.answer_rejected"},
    "de": {"ok", "code.label", "error.answer_rejected"},
    "zh_Hans": {"error.answer_rejected"},
}


def read(code: str):
    path = LOCALE_DIR / code / "LC_MESSAGES" / "kiosk.po"
    with path.open("rb") as handle:
        return read_po(handle, locale="zh_Hans_CN" if code == "zh_Hans" else code, domain="kiosk")


def fields(words: str) -> set[str]:
    return set(re.findall(r"\{(\w*)\}", words))


@pytest.mark.parametrize("code", TRANSLATED)
def test_every_message_is_in_the_catalogue_and_translated(code):
    catalog = read(code)
    entries = {m.context: m for m in catalog if m.id}
    missing = sorted(set(PUBLIC) - set(entries))
    assert not missing, f"{code}: not in the catalogue (run scripts/catalogues update): {missing}"
    problems = []
    for key, english in PUBLIC.items():
        entry = entries[key]
        if entry.id != english:
            problems.append(f"{key}: translated from an older English text (scripts/catalogues update)")
        elif not entry.string or not entry.string.strip():
            problems.append(f"{key}: empty")
        elif entry.fuzzy:
            problems.append(f"{key}: fuzzy (the English changed): check it and remove the flag")
        elif entry.string == english and key not in SAME_AS_ENGLISH[code]:
            problems.append(f"{key}: still the English")
        elif fields(entry.string) != fields(english):
            problems.append(f"{key}: fields {sorted(fields(entry.string))} instead of {sorted(fields(english))}")
    assert not problems, f"{code}:\n" + "\n".join(problems)


@pytest.mark.parametrize("code", TRANSLATED)
def test_each_mo_is_compiled_from_its_po(code):
    compiled = io.BytesIO()
    write_mo(compiled, read(code), use_fuzzy=False)
    shipped = LOCALE_DIR / code / "LC_MESSAGES" / "kiosk.mo"
    assert shipped.read_bytes() == compiled.getvalue(), (
        f"{shipped.name} of {code} is not compiled from its .po: run scripts/catalogues compile"
    )


@pytest.mark.parametrize("code", TRANSLATED)
def test_the_kiosk_reads_every_translation_through_gettext(code):
    messages.configure({}, languages=list(LANGUAGES))
    try:
        messages.set_language(code)
        for key, english in PUBLIC.items():
            if key not in SAME_AS_ENGLISH[code]:
                assert messages.text(key) != english, key
    finally:
        messages.configure(None)


def test_the_default_questions_and_their_group_speak_every_language():
    defaults = QuestionsSettings()
    for question in defaults.questions:
        assert isinstance(question.text, dict) and set(question.text) == set(LANGUAGES), question.id
    for step in defaults.questionnaire:
        if step.group is not None:
            assert set(step.title) == set(TRANSLATED)


def test_the_settings_defaults_are_the_english_texts_they_translate():
    assert KioskSettings().title == messages.DEFAULT_TEXTS["banner.title"]
    assert KioskSettings().help_text == messages.DEFAULT_TEXTS["welcome.help"]


def test_every_rule_label_of_the_backend_is_a_rule_message():
    from kiosk.backend import password_quality, policy

    sources = Path(policy.__file__).read_text() + Path(password_quality.__file__).read_text()
    messages.configure({}, languages=["en", "fr"])
    try:
        messages.set_language("fr")
        for label in (
            "At least 12 characters",
            "At most 64 characters",
            "3 kinds of: capitals, small letters, digits, symbols",
            "Not your user name or part of your name",
            "Not a common or breached password",
            "Hard to guess: [##--] 2 of 4",
            "Too easy to guess: [#---] 1 of 4, add a word or two",
            "Both entries match",
        ):
            assert messages.rule_text(label) != label, label
        for english in re.findall(r'"(It contains [^"]+|Not your [^"]+|This password (?:is|has) [^"]+)"', sources):
            assert messages.rule_text(english) != english, english
    finally:
        messages.configure(None)


def test_catalogues_load_only_when_their_language_is_used():
    code = (
        "import sys\n"
        "from kiosk import messages\n"
        "messages.configure({}, languages=['en', 'fr', 'zh_Hans'])\n"
        "messages.text('welcome.choose')\n"
        "assert 'gettext' not in sys.modules, 'gettext imported for English'\n"
        "messages.set_language('fr')\n"
        "assert messages.text('welcome.choose') != 'What do you need?'\n"
        "from kiosk import i18n\n"
        "assert set(i18n._catalogues) == {'fr'}, i18n._catalogues\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_an_unknown_or_missing_catalogue_falls_back_to_english(monkeypatch, tmp_path):
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    monkeypatch.setattr(i18n, "_catalogues", {})
    messages.configure({}, languages=["en", "de"])
    try:
        messages.set_language("de")
        assert messages.text("welcome.choose") == "What do you need?"
    finally:
        messages.configure(None)
