"""Questions as a TOML file of their own (``kiosk questions export|import``):
written from the schema, read back through the one validator."""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from typing import Any

from kiosk.backend.errors import ConfigError
from kiosk.config.schema import QuestionsSettings
from kiosk.config.validation import validate

__all__ = ["export_questions", "import_questions"]



def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _toml_entries(key: str, value: Any) -> list[str]:
    """``key = value``; a table of texts by language as dotted keys, one per
    language (``text.en = "…"``, ``text.fr = "…"``), none when it is empty."""
    if isinstance(value, dict):
        return [f"{key}.{_toml_key(code)} = {_toml_value(words)}" for code, words in value.items()]
    return [f"{key} = {_toml_value(value)}"]


def _toml_key(key: str) -> str:
    return key if key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key) else _toml_string(key)


def export_questions(settings: QuestionsSettings) -> str:
    """The questions and questionnaire as a ``[questions]`` section of kiosk.toml."""
    lines = [
        "# Security questions for the kiosk: paste into kiosk.toml, or `kiosk questions import`.",
        "# A question's id is its identity: edit the text freely, but a new id is a new question.",
        "# One text per language (text.en, text.fr, ...), or one text for every language (text = ...).",
        "",
        "[questions]",
        f"min_remaining_to_verify = {settings.min_remaining_to_verify}",
    ]
    for q in settings.questions:
        lines += ["", "[[questions.questions]]"]
        for key, value in dataclasses.asdict(q).items():
            lines += _toml_entries(key, value)
    for step in settings.questionnaire:
        lines += ["", "[[questions.questionnaire]]"]
        if step.question is not None:
            lines.append(f"question = {_toml_value(step.question)}")
        else:
            assert step.group is not None
            lines.append(f"group = {_toml_value(step.group)}")
            lines.append(f"pick = {step.pick}")
            lines.append(f"choose_from = {_toml_value(step.choose_from)}")
            lines += _toml_entries("title", step.title)
    return "\n".join(lines) + "\n"


def import_questions(text: str) -> QuestionsSettings:
    """Read questions exported by ``export_questions`` (a ``[questions]``
    section, or the same keys at the top level); ConfigError names any problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"questions: not valid TOML: {exc}") from None
    section: Any = data
    if isinstance(data.get("questions"), Mapping):
        extra = sorted(set(data) - {"questions"})
        if extra:
            raise ConfigError(f"questions: unexpected top-level key(s) {', '.join(extra)}; only [questions]")
        section = data["questions"]
    return validate(QuestionsSettings, section, "questions")
