"""The backend's wire protocol: values and errors cross with their types."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.backend import errors
from kiosk.backend.admin import EnrollmentStatus
from kiosk.backend.helpdesk import AccountCard
from kiosk.backend.helpdesk_actions import ActionOffer
from kiosk.backend.model import Account, PasswordPolicy, Question, TotpSetup
from kiosk.backend.password_quality import ContextWord, QualityRules
from kiosk.backend.policy import PasswordRules
from kiosk.backend.protocol import (
    ERROR_TYPES,
    MAX_FRAME,
    BackendBusy,
    BackendUnavailable,
    ProtocolError,
    VisitHandle,
    decode,
    decode_error,
    encode,
    encode_error,
    frame,
    parse,
    read_length,
)
from kiosk.backend.questions import Questionnaire
from kiosk.backend.throttle import ThrottleStatus
from kiosk.config import FeatureSettings, QuestionsSettings

ACCOUNT = Account(
    guid="0b5e2f9e-0000-4000-8000-000000000001", dn="CN=Alice,OU=Staff,DC=example,DC=com", sam="alice",
    domain="EXAMPLE", upn="alice@example.com", display_name="Alice Anders", locked=True,
    locked_since=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), groups=frozenset({"cn=staff,dc=example,dc=com"}),
    privileged=("S-1-5-32-544",), attributes={"employeeID": "E1"},
)


def round_trip(value):
    return decode(parse(frame({"v": encode(value)})[4:])["v"])


@pytest.mark.parametrize("value", [
    None, True, 3, 2.5, "text", [1, "a"], (1, (2, 3)), frozenset({"a", "b"}),
    datetime(2026, 1, 1, tzinfo=UTC), Path("/etc/kiosk"), float("inf"), {"k": (1, 2)},
    ACCOUNT,
    Question("birth-city", "Where were you born?", case_sensitive=True),
    TotpSetup("SECRETBASE32", "otpauth://totp/x", "alice"),
    PasswordRules(PasswordPolicy(min_length=10, source="CN=pso"), ("alice",),
                  QualityRules(min_length=12, pwned_dir=Path("/p"), context=(ContextWord("acme", "site"),))),
    FeatureSettings(activate=True, totp=True),
    AccountCard(ACCOUNT, True, "", EnrollmentStatus("enrolled", question_ids=("a",), can_verify=True),
                ("Where?",), ThrottleStatus(1, None), True, False,
                (ActionOffer("unlock", True), ActionOffer("reset", False))),
])
def test_values_cross_with_their_types(value):
    crossed = round_trip(value)
    assert crossed == value
    assert type(crossed) is type(value)


def test_the_questionnaire_crosses_whole():
    questionnaire = Questionnaire.from_settings(QuestionsSettings())
    crossed = round_trip(questionnaire)
    assert crossed.steps == questionnaire.steps
    assert dict(crossed.questions) == dict(questionnaire.questions)
    assert crossed.answers_needed == questionnaire.answers_needed


def test_a_visit_crosses_as_a_handle_and_the_receiver_says_what_it_names():
    data = encode(("x", VisitHandle("v7", "K-ABCDEF", 3)))
    assert decode(data) == ("x", VisitHandle("v7", "K-ABCDEF"))
    assert decode(data, visit=lambda i, r: f"{i}/{r}") == ("x", "v7/K-ABCDEF")


@pytest.mark.parametrize("data", [
    {"$type": "Settings", "fields": {}},  # not a type that crosses
    {"$type": "Question", "fields": {"nope": 1}},
    {"$what": 1},
    {"a": 1, "b": 2, "c": 3},
])
def test_anything_else_is_refused(data):
    with pytest.raises(ProtocolError):
        decode(data)


def test_an_object_of_no_crossing_type_is_not_sent():
    with pytest.raises(ProtocolError):
        encode(object())


def test_frames_are_length_prefixed_and_bounded():
    data = frame({"a": 1})
    assert read_length(data[:4]) == len(data) - 4
    with pytest.raises(ProtocolError):
        read_length((MAX_FRAME + 1).to_bytes(4, "big"))
    with pytest.raises(ProtocolError):
        parse(b"[1]")
    with pytest.raises(ProtocolError):
        parse(b"\xff")


@pytest.mark.parametrize("error", [
    errors.Throttled(90.0),
    errors.Throttled(float("inf")),
    errors.PasswordRejected("in_history", "AD said 0000052D"),
    errors.AnswerRejected("too short"),
    errors.ProofUnavailable(("employeeID",)),
    errors.ActivationIncomplete("unlock", password_set=True),
    errors.SecondFactorFailed("wrong"),
    errors.DirectoryUnavailable("no DC"),
    errors.NotAllowed("not verified"),
    BackendBusy("too many sessions"),
])
def test_errors_are_raised_again_as_the_backend_raised_them(error):
    crossed = decode_error(parse(frame({"e": encode_error(error)})[4:])["e"])
    assert type(crossed) is type(error)
    assert crossed.code == error.code and crossed.detail == error.detail and str(crossed) == str(error)
    assert vars(crossed) == vars(error)


def test_every_backend_error_is_in_the_registry():
    for name, kind in vars(errors).items():
        if isinstance(kind, type) and issubclass(kind, errors.KioskError):
            assert ERROR_TYPES[name] is kind


def test_an_unknown_error_is_a_backend_fault_with_plain_words():
    class Strange(errors.KioskError):
        code = "strange"

    assert type(decode_error(encode_error(Strange("x")))) is BackendUnavailable
    assert type(decode_error({"type": "KeyError", "detail": "x"})) is BackendUnavailable
    assert type(decode_error("nonsense")) is BackendUnavailable

    from kiosk.messages import error_text, text

    assert error_text(BackendUnavailable("gone")) != text("error.error")
