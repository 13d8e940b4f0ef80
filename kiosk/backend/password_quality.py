"""Password quality: refuse passwords worth nothing, the same way on every path.

NIST SP 800-63B rev 4 (3.1.1.2): a new password is checked against a blocklist
of common and compromised values and against context words (the service's
and the person's names), a refusal says why, and length is what counts. The
live checklist (``policy.evaluate``) and every use case that writes a password
(reset, activation, the helpdesk's temporary password, a change) call what is
here through ``policy``; nothing else decides.

- The blocklist is zxcvbn's list of 30,000 passwords most seen in breaches
  (its ``passwords`` frequency list), offline, tried as typed and after
  Entra-style normalisation: case folded, 0→o $→s @→a 1→i/l 3→e 4→a 5→s 7→t,
  and digits and symbols stripped from both ends (``Summer2026!`` is
  ``summer``).
- Optionally a local copy of the Pwned Passwords range files (one file per
  5-hex SHA-1 prefix, lines ``SUFFIX:COUNT``): only the one prefix file is
  opened and read line by line, never the whole set.
- Context words: the person's names and account name, the organisation and
  the kiosk's title, and a site's own extra words, matched after the same
  normalisation.
- A strength estimate (zxcvbn's score 0-4) on at most ``STRENGTH_CAP``
  characters at a time, so a long paste costs no more than a short password
  and typing stays smooth.

zxcvbn is imported on first use (``warm_up``), never before the kiosk's first
frame; it holds about 12 MiB of word lists once loaded.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: zxcvbn sees at most this many characters at a time: its cost grows faster
#: than the length (random, p50/max: 32 characters 9/34 ms, 64 characters
#: 40/270 ms; bench/password_quality.py), and past 32 characters strength is
#: rarely the issue. A longer password is judged by its first 32 characters, or
#: by its last 32 if those score better (a weak start is not held against it).
STRENGTH_CAP = 32
#: NIST SP 800-63B rev 4: a password as the only factor has at least 15 characters.
NIST_MIN_LENGTH = 15
#: Context words shorter than this are not looked for (AD's rule for names is 3).
PERSON_WORD_MIN = 3
SITE_WORD_MIN = 4

_SUBSTITUTIONS = str.maketrans({"0": "o", "$": "s", "@": "a", "3": "e", "4": "a", "5": "s", "7": "t", "|": "l", "!": "i"})


@dataclass(frozen=True)
class ContextWord:
    word: str
    #: "name" (the person's names), "account" (sAMAccountName), "organisation",
    #: "title" (the kiosk's title) or "site" (passwords.context_words).
    kind: str


@dataclass(frozen=True)
class QualityRules:
    """The site's quality settings and this person's context words."""

    min_length: int = 0
    max_length: int = 256
    min_score: int = 3
    pwned_dir: Path | None = None
    context: tuple[ContextWord, ...] = ()

    def effective_min_length(self, directory_min: int) -> int:
        """The kiosk's minimum only adds to the directory's own."""
        return max(directory_min, self.min_length)


@dataclass(frozen=True)
class Finding:
    ok: bool
    #: Why, in plain words (the checklist's line).
    label: str
    #: ``PasswordRejected.reason`` when not ok.
    reason: str = ""


# --- normalisation -----------------------------------------------------------------------


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def variants(text: str) -> set[str]:
    """``text`` folded with the usual substitutions; ``1`` is tried as i and as l."""
    folded = _fold(text).translate(_SUBSTITUTIONS)
    if "1" in folded:
        return {folded.replace("1", "i"), folded.replace("1", "l")}
    return {folded}


def _strip_ends(text: str) -> str:
    """Digits and symbols off both ends (``Password123!`` → ``Password``)."""
    start, end = 0, len(text)
    while start < end and not text[start].isalpha():
        start += 1
    while end > start and not text[end - 1].isalpha():
        end -= 1
    return text[start:end]


def _candidates(password: str) -> set[str]:
    """What is looked up in the blocklist: as typed (folded), and normalised."""
    folded = _fold(password)
    found = {folded}
    stripped = _strip_ends(folded)
    for form in (folded, stripped):
        found |= variants(form)
        found.add(form)
    found |= {_strip_ends(v) for v in variants(folded)}
    return {c for c in found if c}


# --- the blocklist -----------------------------------------------------------------------


def _ranked(name: str) -> Mapping[str, int]:
    from zxcvbn.matching import RANKED_DICTIONARIES  # type: ignore[import-untyped]  # heavy: on first use

    return RANKED_DICTIONARIES[name]


def warm_up() -> None:
    """Load zxcvbn and its lists (about 0.2 s): call it off the event loop,
    before the first keystroke needs it."""
    _ranked("passwords")


def is_common(password: str) -> bool:
    """On zxcvbn's list of common passwords, as typed or normalised."""
    common = _ranked("passwords")
    return any(candidate in common for candidate in _candidates(password))


def pwned_count(directory: Path, password: str) -> int:
    """How often ``password`` appears in a local Pwned Passwords copy (0 if not).

    Opens only the range file of its 5-hex SHA-1 prefix (``ABCDE`` or
    ``ABCDE.txt``), read line by line. A missing file counts as not found
    (``kiosk check`` reports the copy's state)."""
    import hashlib  # here: the kiosk sessions import this module (the rules' checklist), never this check

    digest = hashlib.sha1(password.encode("utf-8"), usedforsecurity=False).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    for name in (prefix, f"{prefix}.txt", prefix.lower(), f"{prefix.lower()}.txt"):
        path = directory / name
        try:
            with path.open("r", encoding="ascii", errors="replace") as lines:
                for line in lines:
                    if line[:35].upper() == suffix:
                        count = line[36:].strip()
                        return int(count) if count.isdigit() else 1
        except FileNotFoundError:
            continue
        except OSError:
            return 0
        return 0
    return 0


def pwned_copy_state(directory: Path) -> tuple[int, float | None]:
    """(number of range files, newest modification time) of a Pwned Passwords copy."""
    count, newest = 0, None
    for entry in directory.iterdir():
        stem = entry.name.removesuffix(".txt")
        if len(stem) == 5 and all(c in "0123456789abcdefABCDEF" for c in stem) and entry.is_file():
            count += 1
            mtime = entry.stat().st_mtime
            newest = mtime if newest is None else max(newest, mtime)
    return count, newest


# --- context words -----------------------------------------------------------------------


def context_words(
    *,
    names: Iterable[str] = (),
    account: str = "",
    organisation: str = "",
    title: str = "",
    extra: Iterable[str] = (),
) -> tuple[ContextWord, ...]:
    import re

    words: list[ContextWord] = []

    def add(text: str, kind: str, minimum: int) -> None:
        parts = [p for p in re.split(r"[^\w]+", text) if p]
        joined = "".join(parts)
        for part in dict.fromkeys([*parts, joined]):
            if len(part) >= minimum:
                words.append(ContextWord(part, kind))

    for name in names:
        add(name, "name", PERSON_WORD_MIN)
    if account:
        add(account, "account", PERSON_WORD_MIN)
    add(organisation, "organisation", SITE_WORD_MIN)
    add(title, "title", SITE_WORD_MIN)
    for word in extra:
        add(word, "site", SITE_WORD_MIN)
    return tuple(dict.fromkeys(words))


_CONTEXT_WHY = {
    "name": ("It contains your name", "contains_name"),
    "account": ("It contains your user name", "contains_name"),
    "organisation": ("It contains the organisation's name", "context"),
    "title": ("It contains a word of this kiosk's name", "context"),
    "site": ("It contains a word this site does not allow", "context"),
}


def contained_context(password: str, context: Iterable[ContextWord]) -> ContextWord | None:
    """The first context word the password contains, after normalisation."""
    if not password:
        return None
    forms = variants(password) | {_fold(password)}
    for word in context:
        for form in variants(word.word) | {_fold(word.word)}:
            if any(form in candidate for candidate in forms):
                return word
    return None


# --- strength ----------------------------------------------------------------------------


def strength(password: str, user_inputs: Iterable[str] = ()) -> tuple[int, str]:
    """zxcvbn's score (0-4) of the first (or last) ``STRENGTH_CAP`` characters and its warning."""
    from zxcvbn import zxcvbn  # type: ignore[import-untyped]  # heavy: on first use

    inputs = list(user_inputs)
    result: dict[str, Any] = zxcvbn(password[:STRENGTH_CAP], user_inputs=inputs)
    if len(password) > STRENGTH_CAP and result["score"] < 4:
        tail: dict[str, Any] = zxcvbn(password[-STRENGTH_CAP:], user_inputs=inputs)
        result = max(result, tail, key=lambda r: int(r["score"]))
    return int(result["score"]), str(result["feedback"].get("warning") or "")


def _meter(score: int) -> str:
    return "#" * score + "-" * (4 - score)


# --- the checklist's quality lines ----------------------------------------------------------


def judge_context(rules: QualityRules, password: str, ad_names: Iterable[str] = ()) -> Finding:
    kinds = {w.kind for w in rules.context}
    label = "Not your name or user name"
    if "organisation" in kinds:
        label = "Not your name, user name or the organisation's name"
    context = rules.context + tuple(ContextWord(n, "name") for n in ad_names if len(n) >= PERSON_WORD_MIN)
    hit = contained_context(password, context)
    if hit is None:
        return Finding(bool(password), label)
    why, reason = _CONTEXT_WHY[hit.kind]
    return Finding(False, why, reason)


def judge_blocklist(rules: QualityRules, password: str) -> Finding:
    label = "Not a common or breached password"
    if not password:
        return Finding(False, label)
    if is_common(password):
        return Finding(False, "This password is on a list of common passwords", "common")
    if rules.pwned_dir is not None and pwned_count(rules.pwned_dir, password):
        return Finding(False, "This password has appeared in a data breach", "breached")
    return Finding(True, label)


def judge_strength(rules: QualityRules, password: str) -> Finding:
    if not password:
        return Finding(False, f"Hard to guess (strength {rules.min_score} of 4 or more)")
    score, _warning = strength(password, (w.word for w in rules.context))
    if score >= rules.min_score:
        return Finding(True, f"Hard to guess: [{_meter(score)}] {score} of 4")
    return Finding(False, f"Too easy to guess: [{_meter(score)}] {score} of 4, add a word or two", "weak")
