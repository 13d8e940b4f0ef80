"""TOTP as a second factor: the codes (checked against an independent RFC 6238
implementation and the RFC's test vectors), enrollment, unlock and reset with
questions + a code, replay, recovery codes, the key outside the store, and the
same refusal for everyone (demo directory, real SQLite store, frozen clock)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

import totp_reference as ref
from kiosk.backend import totp as totp_codes
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import CodeRejected, ConfigError, NotAllowed, SecondFactorFailed, Throttled, VerificationFailed
from kiosk.backend.service import SelfService
from kiosk.backend.wiring import open_backend
from kiosk.cli import demo_settings
from kiosk.config import FactorSettings
from kiosk.config.validation import validate
from support import fast

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob222"),
    DemoUser("carol", "Carol", "Clark", "Demo!Carol3"),
)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
RIGHT = ["Paris", "Rex", "Hillside"]
NOW = datetime(2026, 3, 1, 12, 0, 10, tzinfo=UTC)

# --- the reference implementation against RFC 6238, Appendix B (SHA-1, 8 digits) -------------

RFC_KEY = b"12345678901234567890"
RFC_VECTORS = [
    (59, "94287082"),
    (1111111109, "07081804"),
    (1111111111, "14050471"),
    (1234567890, "89005924"),
    (2000000000, "69279037"),
    (20000000000, "65353130"),
]


@pytest.mark.parametrize(("when", "expected"), RFC_VECTORS)
def test_the_reference_implementation_gives_the_rfc_6238_vectors(when, expected):
    assert ref.totp(RFC_KEY, when, digits=8) == expected


@pytest.mark.parametrize(("when", "expected"), RFC_VECTORS)
def test_the_kiosks_codes_agree_with_the_rfc_vectors(when, expected):
    import base64

    secret = base64.b32encode(RFC_KEY).decode()
    assert totp_codes.code_at(secret, when // 30) == expected[-6:]
    assert totp_codes.matching_step(secret, expected[-6:], when) == when // 30


def test_a_code_matches_within_one_step_of_drift_and_not_beyond():
    secret = totp_codes.new_secret()
    t = NOW.timestamp()
    assert totp_codes.matching_step(secret, ref.code(secret, t - 30), t) == int(t // 30) - 1
    assert totp_codes.matching_step(secret, ref.code(secret, t + 30), t) == int(t // 30) + 1
    assert totp_codes.matching_step(secret, ref.code(secret, t - 90), t) is None
    assert totp_codes.matching_step(secret, "12345", t) is None
    assert totp_codes.matching_step(secret, "abcdef", t) is None


def test_a_new_secret_is_160_random_bits_and_the_uri_names_it():
    secret = totp_codes.new_secret()
    assert len(ref.key_of(secret)) == 20 and secret != totp_codes.new_secret()
    uri = totp_codes.provisioning_uri(secret, "alice", "Example Corp")
    assert uri == f"otpauth://totp/Example%20Corp:alice?secret={secret}&issuer=Example%20Corp"


# --- the policy ----------------------------------------------------------------------------


def test_the_default_policy_is_questions_alone():
    factors = FactorSettings()
    assert factors.unlock == [["questions"]] and factors.reset == [["questions"]]
    assert not factors.requires_totp("unlock") and not factors.requires_totp("reset")


def test_a_policy_asks_for_totp_only_when_every_alternative_does():
    assert validate(FactorSettings, {"reset": [["questions", "totp"]]}, "t").requires_totp("reset")
    assert not validate(FactorSettings, {"reset": [["questions", "totp"], ["questions"]]}, "t").requires_totp("reset")
    # An alternative without questions is allowed since e-mailed codes (issue 15): "any one".
    assert validate(FactorSettings, {"reset": [["totp"]]}, "t").requires_totp("reset")
    with pytest.raises(ConfigError, match="one code"):
        validate(FactorSettings, {"reset": [["questions", "totp", "email"]]}, "t")
    with pytest.raises(ConfigError, match="reset"):
        validate(FactorSettings, {"reset": [["questions", "sms"]]}, "t")


# --- the service ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(tmp_path):
    return fast(
        demo_settings(tmp_path),
        features={"totp": True},
        factors={"unlock": [["questions", "totp"]], "reset": [["questions", "totp"]],
                 "totp_key_file": str(tmp_path / "secrets" / "kiosk_totp_key")},
    )


@pytest.fixture
def directory() -> DemoDirectory:
    return DemoDirectory(USERS)


@pytest.fixture
def service(settings, directory, clock, tmp_path) -> SelfService:
    (tmp_path / "secrets").mkdir()
    service = SelfService(settings, open_backend(settings, directory=directory), clock=clock)
    yield service
    service.close()


def enroll_questions(service: SelfService, name: str, password: str) -> None:
    visit = service.begin(name, "tty1")
    service.prove_password(visit, password)
    service.enroll(visit, ANSWERS)


def enroll_totp(service: SelfService, name: str, password: str, clock: Clock) -> tuple[str, tuple[str, ...]]:
    visit = service.begin(name, "tty1")
    service.prove_password(visit, password)
    setup = service.totp_begin(visit)
    codes = service.totp_confirm(visit, ref.code(setup.secret, clock.now.timestamp()))
    return setup.secret, codes


def challenged(service: SelfService, name: str):
    visit = service.begin(name, "tty1")
    service.challenge(visit)
    return visit


def audit(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]


def test_enrolling_keeps_the_secret_encrypted_with_a_key_file_of_mode_0600(service, clock, tmp_path):
    secret, codes = enroll_totp(service, "alice", "Demo!Alice1", clock)
    key_file = tmp_path / "secrets" / "kiosk_totp_key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600 and len(key_file.read_bytes()) == 32
    assert len(codes) == 10 and len(set(codes)) == 10
    row = sqlite3.connect(tmp_path / "kiosk.db").execute("SELECT secret, recovery FROM totp").fetchone()
    assert secret.encode() not in row[0] and ref.key_of(secret) not in row[0]
    assert not any(code in row[1] or code.replace("-", "") in row[1] for code in codes)
    assert len(json.loads(row[1])) == 10
    assert [e["event"] for e in audit(tmp_path)][-1] == "totp_enroll"


def test_a_copy_of_the_store_without_the_key_yields_no_secret(service, clock, tmp_path):
    enroll_totp(service, "alice", "Demo!Alice1", clock)
    sealed = sqlite3.connect(tmp_path / "kiosk.db").execute("SELECT guid, secret FROM totp").fetchone()
    other = totp_codes.SecretBox(b"\x00" * 32)
    with pytest.raises(Exception, match="does not open"):
        other.open(bytes(sealed[1]), sealed[0])
    with pytest.raises(Exception, match="does not open"):  # nor on another account's row
        service._secret_box().open(bytes(sealed[1]), "another-guid")


def test_a_wrong_first_code_is_refused_and_counted(service, clock):
    visit = service.begin("alice", "tty1")
    service.prove_password(visit, "Demo!Alice1")
    setup = service.totp_begin(visit)
    wrong = f"{(int(ref.code(setup.secret, clock.now.timestamp())) + 1) % 10**6:06d}"
    with pytest.raises(CodeRejected):
        service.totp_confirm(visit, wrong)
    assert service._throttle.status(visit.throttle_key).failures == 1
    service.totp_confirm(visit, ref.code(setup.secret, clock.now.timestamp()))


def test_enrollment_needs_the_password_first(service):
    visit = service.begin("alice", "tty1")
    with pytest.raises(NotAllowed):
        service.totp_begin(visit)


def test_questions_and_a_code_unlock_and_the_same_code_is_refused_again(service, clock, directory):
    enroll_questions(service, "alice", "Demo!Alice1")
    secret, _ = enroll_totp(service, "alice", "Demo!Alice1", clock)
    directory.lock_out("alice")
    clock.tick(30)
    code = ref.code(secret, clock.now.timestamp())
    visit = challenged(service, "alice")
    assert service.requires_code("unlock")
    with pytest.raises(NotAllowed):  # the answers alone are not enough
        service.verify(visit, RIGHT)
        service.unlock(visit)
    visit = challenged(service, "alice")
    service.verify_with_code(visit, RIGHT, code)
    assert service.unlock(visit) == "DEMO\\alice"
    visit = challenged(service, "alice")
    with pytest.raises(SecondFactorFailed):  # replayed within its window
        service.verify_with_code(visit, RIGHT, code)
    assert service._throttle.status(visit.throttle_key).failures == 1


def test_the_confirming_code_cannot_be_used_at_the_kiosk(service, clock):
    enroll_questions(service, "alice", "Demo!Alice1")
    secret, _ = enroll_totp(service, "alice", "Demo!Alice1", clock)
    visit = challenged(service, "alice")
    with pytest.raises(SecondFactorFailed):
        service.verify_with_code(visit, RIGHT, ref.code(secret, clock.now.timestamp()))


def test_wrong_code_and_wrong_answers_are_refused_alike_and_counted(service, clock):
    enroll_questions(service, "alice", "Demo!Alice1")
    secret, _ = enroll_totp(service, "alice", "Demo!Alice1", clock)
    clock.tick(60)
    refusals = []
    for answers, code in ((RIGHT, "000000"), (["Paris", "Rex", "wrong"], ref.code(secret, clock.now.timestamp()))):
        visit = challenged(service, "alice")
        with pytest.raises(SecondFactorFailed) as refused:
            service.verify_with_code(visit, answers, code)
        refusals.append(str(refused.value))
    assert refusals == ["second_factor_failed"] * 2
    assert service._throttle.status(visit.throttle_key).failures == 2


def test_failures_share_the_throttle_with_answers(service, clock):
    enroll_questions(service, "alice", "Demo!Alice1")
    enroll_totp(service, "alice", "Demo!Alice1", clock)
    for _ in range(5):
        visit = challenged(service, "alice")
        with pytest.raises(VerificationFailed):
            service.verify_with_code(visit, RIGHT, "000000")
    visit = challenged(service, "alice")
    with pytest.raises(Throttled):
        service.verify_with_code(visit, RIGHT, "000000")


def test_a_recovery_code_works_once_in_place_of_a_code(service, clock, directory, tmp_path):
    enroll_questions(service, "alice", "Demo!Alice1")
    _, codes = enroll_totp(service, "alice", "Demo!Alice1", clock)
    visit = challenged(service, "alice")
    service.verify_with_code(visit, RIGHT, codes[3].upper().replace("-", " "))
    assert service.unlock(visit) == "DEMO\\alice"
    visit = challenged(service, "alice")
    with pytest.raises(SecondFactorFailed):
        service.verify_with_code(visit, RIGHT, codes[3])
    assert "totp_recovery_code" in [e["event"] for e in audit(tmp_path)]


def test_a_recovery_code_is_not_used_up_by_wrong_answers(service, clock):
    enroll_questions(service, "alice", "Demo!Alice1")
    _, codes = enroll_totp(service, "alice", "Demo!Alice1", clock)
    visit = challenged(service, "alice")
    with pytest.raises(SecondFactorFailed):
        service.verify_with_code(visit, ["x", "y", "z"], codes[0])
    visit = challenged(service, "alice")
    service.verify_with_code(visit, RIGHT, codes[0])


def test_unknown_unenrolled_and_without_totp_people_are_refused_the_same_way(service, clock, tmp_path, monkeypatch):
    enroll_questions(service, "alice", "Demo!Alice1")  # questions, no authenticator
    enroll_questions(service, "bob", "Demo!Bob222")
    enroll_totp(service, "bob", "Demo!Bob222", clock)
    calls: list[str] = []
    real_step = totp_codes.matching_step
    monkeypatch.setattr(totp_codes, "matching_step", lambda *a: calls.append("totp") or real_step(*a))
    refusals = []
    for name, answers in (("nobody", RIGHT), ("carol", RIGHT), ("alice", RIGHT), ("bob", ["no", "no", "no"])):
        visit = challenged(service, name)
        with pytest.raises(SecondFactorFailed) as refused:
            service.verify_with_code(visit, answers, "123456")
        refusals.append(str(refused.value))
    assert refusals == ["second_factor_failed"] * 4
    assert calls == ["totp"] * 4  # the same work for everyone
    reasons = [e["reason"] for e in audit(tmp_path) if e["event"] == "verify"]
    assert reasons == ["unknown user", "not enrolled", "no authenticator app", "wrong answers"]


def test_without_the_policy_nothing_changes(tmp_path, directory):
    settings = fast(demo_settings(tmp_path))
    service = SelfService(settings, open_backend(settings, directory=directory))
    enroll_questions(service, "alice", "Demo!Alice1")
    assert not service.requires_code("unlock") and not service.requires_code("reset")
    visit = challenged(service, "alice")
    service.verify(visit, RIGHT)
    assert service.unlock(visit) == "DEMO\\alice"
    assert not (tmp_path / "secrets").exists()
    service.close()


def test_the_key_file_defaults_to_the_secrets_directory_and_a_systemd_credential_wins(tmp_path):
    secrets_dir, credentials = tmp_path / "secrets", tmp_path / "creds"
    secrets_dir.mkdir()
    credentials.mkdir()
    env = {"KIOSK_SECRETS_DIR": str(secrets_dir), "CREDENTIALS_DIRECTORY": str(credentials)}
    assert totp_codes.key_path(None, env) == secrets_dir / "kiosk_totp_key"
    (credentials / "kiosk_totp_key").write_bytes(b"k" * 32)
    env = {"CREDENTIALS_DIRECTORY": str(credentials)}
    assert totp_codes.key_path(None, env) == credentials / "kiosk_totp_key"
    assert totp_codes.load_or_create_key(credentials / "kiosk_totp_key") == b"k" * 32


def test_recovery_digests_are_keyed_by_account():
    key = hashlib.sha256(b"k").digest()
    assert totp_codes.recovery_digest(key, "a", "abcde-fghjk") == totp_codes.recovery_digest(key, "a", "ABCDE FGHJK")
    assert totp_codes.recovery_digest(key, "a", "abcde-fghjk") != totp_codes.recovery_digest(key, "b", "abcde-fghjk")
