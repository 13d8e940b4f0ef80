"""Answers, question files and configuration values from outside: no exception
but the typed one escapes."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kiosk.config.questions_file import export_questions, import_questions
from kiosk.backend.answers import MAX_ANSWER_CHARS, normalise
from kiosk.backend.errors import ConfigError
from kiosk.config import QuestionsSettings
from kiosk.config.loading import load_settings

LIMITS = settings(max_examples=200, deadline=None)
ODD = st.sampled_from(["\u0301", "\u0308", "ǰ", "ß", "ﬁ", "Ａ", "İ", "\u202e", "\u00a0", "\u2028", "\x00", "\ud800", "㍱", "ᾈ"])
ANSWER = st.one_of(st.text(max_size=60), st.text(alphabet=st.one_of(ODD, st.characters()), max_size=60),
                   st.text(min_size=MAX_ANSWER_CHARS - 5, max_size=MAX_ANSWER_CHARS + 50))


@LIMITS
@given(ANSWER, st.booleans())
@example("ǰ", False)
@example("ﬁ\u0301", False)
@example("ᾈ", False)
@example("x" * (MAX_ANSWER_CHARS - 1) + "ﬃ", False)
def test_normalise_is_idempotent_and_total(answer, case_sensitive):
    once = normalise(answer, case_sensitive=case_sensitive)
    assert normalise(once, case_sensitive=case_sensitive) == once
    assert once == once.strip() and "  " not in once


TOML_BITS = st.sampled_from([
    "[questions]\n", "[[questions.questions]]\n", "[[questions.questionnaire]]\n", "[[questions]]\n",
    'id = "a"\n', 'id = "Bad Id"\n', 'text = "What was it?"\n', "text = 3\n", "min_length = 0\n",
    "max_length = 2\n", "pick = 9\n", 'question = "a"\n', 'group = "G"\n', 'choose_from = ["a", "b"]\n',
    "case_sensitive = true\n", "min_remaining_to_verify = -1\n", "questions = 1\n", "x = [\n", '"\\u00\n',
    "questionnaire = []\n", "= \n", "[questions.questions]\n", "extra = 1\n",
])
TOMLISH = st.one_of(st.lists(TOML_BITS, max_size=12).map("".join), st.text(max_size=200))


@LIMITS
@given(TOMLISH)
def test_import_questions_raises_only_config_errors(text):
    try:
        imported = import_questions(text)
    except ConfigError:
        return
    assert isinstance(imported, QuestionsSettings)
    assert import_questions(export_questions(imported)) == imported  # what it accepts, it round-trips


BASE = {
    "directory": {"kind": "demo"},
    "store": {"url": "sqlite:////nonexistent/kiosk.db"},
}
KEYS = [
    ("directory", "urls"), ("directory", "timeout_seconds"), ("directory", "default_domain"),
    ("directory", "kind"), ("directory", "domains"), ("throttle", "account_max_failures"),
    ("throttle", "delay_seconds"), ("answers", "memory_cost_kib"), ("kiosk", "idle_timeout_seconds"),
    ("kiosk", "theme"), ("kiosk", "texts"), ("questions", "questionnaire"), ("eligibility", "allowed_ous"),
    ("features", "enroll"), ("audit", "file"),
]
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=20)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)


def _toml(data: dict) -> str:
    """Only what TOML can say: JSON-ish values written as inline tables."""

    def value(v):
        if v is None:
            raise ValueError
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float) and v != v:
            return "nan"
        if isinstance(v, float) and v in (float("inf"), float("-inf")):
            return "inf" if v > 0 else "-inf"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return "{" + ", ".join(f"{json.dumps(k)} = {value(x)}" for k, x in v.items()) + "}"

    return "".join(f"[{section}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in body.items()) for section, body in data.items())


@LIMITS
@given(st.lists(st.tuples(st.sampled_from(KEYS), VALUES), min_size=1, max_size=3))
def test_load_settings_raises_only_config_errors(tmp_path_factory, changes):
    data = {section: dict(body) for section, body in BASE.items()}
    for (section, key), v in changes:
        data.setdefault(section, {})[key] = v
    try:
        text = _toml(data)
    except ValueError:  # None has no TOML form
        return
    path = tmp_path_factory.mktemp("cfg") / "kiosk.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        load_settings(path, environ={})
    except ConfigError as exc:
        assert str(exc).strip()


@LIMITS
@given(st.sampled_from(KEYS), st.text(max_size=30))
def test_environment_overrides_raise_only_config_errors(key, raw):
    section, name = key
    environ = {f"KIOSK_{section.upper()}__{name.upper()}": raw.replace("\x00", "")}
    try:
        load_settings(None, environ={**environ, "KIOSK_CONFIG": "/nonexistent/kiosk.toml"})
    except ConfigError:
        pass
