"""The message catalogues (kiosk/locale): complete, translated, compiled.

Every public message (``kiosk.messages.translatable``) and every mail's text
(``kiosk.backend.notice_texts.MAIL_TEXTS``) is in every shipped catalogue, translated (not empty, not fuzzy, not still the English), with the
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
from kiosk.backend.notice_texts import MAIL_TEXTS, SETTING_DEFAULTS, mail_text, setting_in
from kiosk.config import KioskSettings, MailSettings, QuestionsSettings, RemindersSettings
from kiosk.i18n import LANGUAGES, LOCALE_DIR, SOURCE_LANGUAGE

TRANSLATED = [code for code in LANGUAGES if code != SOURCE_LANGUAGE]
SCREENS = {key: english for key, english in messages.DEFAULT_TEXTS.items() if messages.translatable(key)}
PUBLIC = {**SCREENS, **MAIL_TEXTS}

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
        for key, english in SCREENS.items():
            if key not in SAME_AS_ENGLISH[code]:
                assert messages.text(key) != english, key
    finally:
        messages.configure(None)
    for key, english in MAIL_TEXTS.items():  # the backend reads the same catalogue
        assert mail_text(key, code) != english, key


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
    assert KioskSettings().title == SETTING_DEFAULTS["mail.title"]
    assert MailSettings().contact == SETTING_DEFAULTS["mail.contact"]
    assert RemindersSettings().kiosk_location == SETTING_DEFAULTS["mail.kiosk_location"]
    # in a mail: the built-in default translated, a changed one as written, a table by language
    assert setting_in(MailSettings().contact, "mail.contact", "fr") == "contactez immédiatement l'assistance informatique"
    assert setting_in("call 4242", "mail.contact", "fr") == "call 4242"
    assert setting_in({"en": "call 4242", "de": "Tel. 4242"}, "mail.contact", "de") == "Tel. 4242"
    assert setting_in({"en": "call 4242", "de": "Tel. 4242"}, "mail.contact", "fr") == "call 4242"


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


# --- configuration: languages, per-language texts ---------------------------------------------

from kiosk.backend.errors import AnswerRejected, ConfigError  # noqa: E402
from kiosk.backend.questions import Questionnaire, check_answer  # noqa: E402
from kiosk.config import Settings  # noqa: E402
from kiosk.config.loading import settings_from  # noqa: E402
from kiosk.config.questions_file import export_questions, import_questions  # noqa: E402


def settings(**kiosk: object) -> Settings:
    return settings_from({"directory": {"kind": "demo"}, "kiosk": kiosk})


@pytest.fixture
def english_after():
    yield
    messages.configure(None)


def test_languages_default_to_english_alone():
    kiosk = settings().kiosk
    assert kiosk.languages == ["en"] and kiosk.default_language == ""


@pytest.mark.parametrize(
    ("kiosk", "named"),
    [
        ({"languages": []}, "kiosk.languages"),
        ({"languages": ["en", "xx"]}, "kiosk.languages"),
        ({"languages": ["fr", "fr"]}, "kiosk.languages"),
        ({"languages": ["en", "fr"], "default_language": "de"}, "kiosk.default_language"),
        ({"texts": {"xx": {"ok": "Bien"}}}, "kiosk.texts.xx"),
    ],
)
def test_a_wrong_language_setting_is_named(kiosk, named):
    with pytest.raises(ConfigError) as caught:
        settings(**kiosk)
    assert named in str(caught.value)


def test_overrides_apply_per_language_and_the_flat_form_is_english(english_after):
    kiosk = settings(
        languages=["en", "fr"],
        texts={"welcome.choose": "Pick one", "fr": {"welcome.unlock": "Déverrouiller"}},
    ).kiosk
    messages.configure(kiosk.texts, languages=kiosk.languages)
    assert messages.text("welcome.choose") == "Pick one"
    assert messages.text("welcome.unlock") == "Unlock my account"
    messages.set_language("fr")
    assert messages.text("welcome.unlock") == "Déverrouiller"
    assert messages.text("welcome.choose") == "Que souhaitez-vous faire\u00a0?"  # the catalogue, not the English override
    messages.reset_language()
    assert messages.language() == "en"


def test_the_default_language_starts_every_visit_and_the_console_hides_chinese(english_after):
    messages.configure({}, languages=["en", "zh_Hans", "fr"], default_language="zh_Hans", term="linux")
    assert messages.languages() == ("en", "fr")
    assert messages.language() == "en"  # Chinese cannot be drawn: the first that can
    messages.configure({}, languages=["en", "zh_Hans", "fr"], default_language="zh_Hans", term="xterm-256color")
    assert messages.languages() == ("en", "zh_Hans", "fr")
    assert messages.language() == "zh_Hans"
    messages.set_language("de")  # not offered: ignored
    assert messages.language() == "zh_Hans"


def test_a_changed_title_shows_as_written_and_the_default_is_translated(english_after):
    messages.configure({"fr": {"banner.title": "Mots de passe"}}, languages=["en", "fr", "de"])
    messages.set_language("de")
    assert messages.setting_text("banner.title", "Password self-service") == "Kennwort-Selbstbedienung"
    assert messages.setting_text("banner.title", "Example Ltd passwords") == "Example Ltd passwords"
    messages.set_language("fr")
    assert messages.setting_text("banner.title", "Example Ltd passwords") == "Mots de passe"


def test_questions_carry_a_text_per_language_and_answers_do_not_depend_on_it(english_after):
    data = {
        "questions": [
            {"id": "pet", "text": {"en": "Your first pet?", "fr": "Votre premier animal ?"}},
            {"id": "city", "text": "Your birth city?"},
        ],
        "questionnaire": [{"question": "pet"}, {"group": "Places", "pick": 1, "choose_from": ["city"],
                                                "title": {"fr": "Lieux"}}],
    }
    questions = settings_from({"directory": {"kind": "demo"}, "questions": data}).questions
    questionnaire = Questionnaire.from_settings(questions)
    pet = questionnaire.questions["pet"]
    assert pet.text == "Your first pet?" and dict(pet.translations)["fr"] == "Votre premier animal ?"
    messages.configure({}, languages=["en", "fr"])
    messages.set_language("fr")
    assert messages.question_text(pet) == "Votre premier animal ?"
    assert messages.question_text(questionnaire.questions["city"]) == "Your birth city?"
    assert messages.group_title(questionnaire.steps[1]) == "Lieux"
    # the French wording is a question too: repeating it is refused, in French
    with pytest.raises(AnswerRejected) as refused:
        check_answer(pet, "votre premier animal")
    assert messages.error_text(refused.value) == "Votre réponse ne doit pas reprendre la question."
    assert refused.value.reason == "Your answer must not repeat the question."  # logs stay English


def test_export_and_import_keep_every_language():
    defaults = QuestionsSettings()
    exported = export_questions(defaults)
    assert 'text.fr = "Dans quelle ville' in exported and "title.zh_Hans = " in exported
    assert import_questions(exported) == defaults


@pytest.mark.parametrize(
    "question",
    [
        {"id": "q", "text": {}},
        {"id": "q", "text": {"xx": "What is it?"}},
        {"id": "q", "text": {"en": "What is it?", "fr": "?"}},
    ],
)
def test_a_wrong_question_text_is_named(question):
    with pytest.raises(ConfigError) as caught:
        import_questions(f"[questions]\nquestions = [{_inline(question)}]\nquestionnaire = [{{question = \"q\"}}]\n")
    assert "text" in str(caught.value)


def _inline(question: dict) -> str:
    text = question["text"]
    words = ", ".join(f'{k} = "{v}"' for k, v in text.items())
    return f'{{id = "{question["id"]}", text = {{{words}}}}}'


def test_check_reports_missing_translations_of_configured_languages():
    from kiosk.check import _check_languages

    whole = settings_from({
        "directory": {"kind": "demo"},
        "kiosk": {"languages": ["en", "fr"], "texts": {"welcome.choose": "Pick"}},
        "questions": {
            "questions": [{"id": "pet", "text": "Your pet?"}, {"id": "city", "text": {"en": "City?", "fr": "Ville ?"}}],
            "questionnaire": [{"question": "pet"}, {"question": "city"}],
        },
    })
    lines = {r.name: r for r in _check_languages(whole)}
    assert lines["language en"].state == "ok"
    french = lines["language fr"]
    assert french.state == "warn"
    assert "question pet (text.fr)" in french.message and "question city" not in french.message
    assert "welcome.choose" in french.message
    assert _check_languages(settings_from({"directory": {"kind": "demo"}, "kiosk": {"languages": ["en", "fr"]}}))[
        -1
    ].state == "ok"  # the default questions speak French
    mail = {"enabled": True, "host": "smtp.example.com", "from_address": "k@example.com"}
    changed = settings_from({"directory": {"kind": "demo"}, "kiosk": {"languages": ["en", "fr", "de"]},
                             "mail": {**mail, "contact": {"en": "call 4357", "fr": "appelez le 4357"}}})
    lines = {r.name: r for r in _check_languages(changed)}
    assert lines["language fr"].state == "ok"
    assert "mail.contact.de (in mails)" in lines["language de"].message


# --- 80x24 in every language: what has a fixed width ---------------------------------------------

from rich.cells import cell_len  # noqa: E402

#: The key hints (one line at the bottom, 76 columns less the padding) and the
#: welcome choices (a list 50 wide, less its border and padding).
FIXED_WIDTHS = {"keys": 74, "welcome.": 46}


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_one_line_texts_fit_their_width_in_every_language(code, english_after):
    messages.configure({}, languages=list(LANGUAGES))
    messages.set_language(code)
    too_wide = []
    for key in PUBLIC:
        if key.endswith("keys") or key.startswith("keys."):
            limit = FIXED_WIDTHS["keys"]
        elif key in {f"welcome.{a}" for a in ("unlock", "reset", "enroll", "activate", "totp", "change")}:
            limit = FIXED_WIDTHS["welcome."]
        else:
            continue
        words = messages.text(key)
        if cell_len(words) > limit:
            too_wide.append(f"{key}: {cell_len(words)} cells > {limit}: {words}")
    assert not too_wide, "\n".join(too_wide)


def test_double_width_characters_count_twice():
    messages.configure({}, languages=["en", "zh_Hans"])
    try:
        messages.set_language("zh_Hans")
        assert cell_len(messages.text("welcome.unlock")) == 2 * len(messages.text("welcome.unlock"))
    finally:
        messages.configure(None)


def test_the_first_frame_reads_the_languages_and_per_language_texts_before_validation():
    from kiosk.config.startup import provisional_settings

    kiosk = provisional_settings(
        {"kiosk": {"languages": ["en", "fr"], "default_language": "fr", "texts": {"ok": "Fine", "fr": {"ok": "Bien"}}}}
    ).kiosk
    assert (kiosk.languages, kiosk.default_language) == (["en", "fr"], "fr")
    assert kiosk.texts == {"ok": "Fine", "fr": {"ok": "Bien"}}
    # a value the schema refuses falls back to the defaults, as for any section
    assert provisional_settings({"kiosk": {"languages": ["xx"]}}).kiosk.languages == ["en"]


def test_activation_proof_labels_speak_every_language(english_after):
    from kiosk.check import _check_languages

    proof = {"attribute": "employeeID", "label": {"en": "Employee ID", "de": "Personalnummer"}}
    whole = settings_from({
        "directory": {"kind": "demo"},
        "features": {"activate": True},
        "kiosk": {"languages": ["en", "de", "fr"]},
        "activation": {"proof": [proof]},
    })
    lines = {r.name: r.message for r in _check_languages(whole)}
    assert "activation proof employeeID (label.fr)" in lines["language fr"]
    assert "activation proof" not in lines["language de"]
    messages.configure({}, languages=["en", "de"], labels={"Employee ID": whole.activation.proof[0].label})
    messages.set_language("de")
    assert messages.label_text("Employee ID") == "Personalnummer"
    assert messages.label_text("Activation code") == "Aktivierungscode"
    assert messages.label_text("Something else") == "Something else"


def test_a_refused_answer_keeps_its_message_across_the_backend_wire(english_after):
    from kiosk.backend import protocol

    questionnaire = Questionnaire.from_settings(QuestionsSettings())
    with pytest.raises(AnswerRejected) as refused:
        check_answer(questionnaire.questions["birth-city"], "ab")
    crossed = protocol.decode_error(protocol.parse(protocol.frame({"error": protocol.encode_error(refused.value)})[4:])["error"])
    assert type(crossed) is AnswerRejected and crossed.message_key == "answer.too_short"
    messages.configure({}, languages=["en", "zh_Hans"])
    messages.set_language("zh_Hans")
    assert messages.error_text(crossed) == "您的答案至少需要3个字符。"
    # and the questions cross with every language
    step = protocol.decode(protocol.encode(questionnaire.steps[1]))
    assert messages.group_title(step) == "往事回忆"
    assert messages.question_text(step.choices[0]) == "您的第一只宠物叫什么名字？"


@pytest.mark.parametrize(
    ("preferred", "shipped"),
    [
        ("fr", "fr"), ("fr-CH", "fr"), ("DE-de", "de"), ("de;q=0.9, en", "de"), ("it, de-AT;q=0.8", "de"),
        ("zh-Hans-CN", "zh_Hans"), ("zh-CN", "zh_Hans"), ("zh", "zh_Hans"), ("zh_Hans", "zh_Hans"),
        ("zh-TW", None), ("zh-Hant", None), ("it", None), ("", None), (";q=1", None),
    ],
)
def test_a_directory_language_tag_names_a_shipped_language(preferred, shipped):
    """preferredLanguage (RFC 2798: Accept-Language's syntax) -> the shipped language of mails."""
    assert i18n.shipped_language(preferred) == shipped
