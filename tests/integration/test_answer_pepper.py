"""The site pepper (#14 item 17): answers are hashed as argon2id of
HMAC-SHA256(pepper, normalised answer), the pepper in a file outside the store.
A copy of the store alone verifies nothing; hashes from before the pepper keep
verifying and are re-hashed with it on the next success."""

from __future__ import annotations

import dataclasses
import shutil
import stat

import pytest
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError

from kiosk.backend.answers import PEPPER_BYTES, AnswerHasher, normalise, pepper_id
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import StoreError, VerificationFailed
from kiosk.backend.store import open_store
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from support import CHEAP_HASHING, fast

USERS = (DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),)
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]


def settings_in(workdir, pepper_file):
    settings = fast(demo_settings(workdir))
    return dataclasses.replace(settings, answers=dataclasses.replace(CHEAP_HASHING, pepper_file=pepper_file))


def service_in(workdir, pepper_file):
    return build_service(settings_in(workdir, pepper_file), directory=DemoDirectory(USERS))


def enroll(service) -> None:
    visit = service.begin("alice", "setup")
    service.prove_password(visit, "Demo!Alice1")
    service.enroll(visit, ANSWERS)


def verify(service, answers=None) -> None:
    visit = service.begin("alice", "tty1")
    questions = service.challenge(visit)
    given = dict(ANSWERS) if answers is None else answers
    service.verify(visit, [given[q.id] for q in questions])


def stored_hashes(workdir) -> list[str]:
    with open_store(f"sqlite://{workdir / 'kiosk.db'}") as store:
        (enrollment,) = list(store.enrollments())
        return [a.answer_hash for a in enrollment.answers]


def test_answers_are_peppered_and_the_pepper_is_made_outside_the_store(tmp_path):
    pepper_file = tmp_path / "secrets" / "kiosk_answer_pepper"
    pepper_file.parent.mkdir()
    service = service_in(tmp_path, pepper_file)
    enroll(service)
    verify(service)
    service.close()

    pepper = pepper_file.read_bytes()
    assert len(pepper) == PEPPER_BYTES and stat.S_IMODE(pepper_file.stat().st_mode) == 0o600
    hashes = stored_hashes(tmp_path)
    assert all(h.startswith(f"n2p{pepper_id(pepper)}$argon2id$") for h in hashes)
    # Offline, with the store alone: argon2 of the answer itself does not match.
    argon2_hash = hashes[0].partition("$")[2]
    with pytest.raises(VerifyMismatchError):
        PasswordHasher().verify("$" + argon2_hash, normalise("Paris"))


@pytest.mark.parametrize("other", ["no pepper", "another pepper"])
def test_a_store_copied_without_its_pepper_verifies_nothing(tmp_path, other):
    site = tmp_path / "site"
    site.mkdir()
    service = service_in(site, site / "pepper")
    enroll(service)
    service.close()

    copy = tmp_path / "copy"
    copy.mkdir()
    shutil.copy(site / "kiosk.db", copy / "kiosk.db")
    hashes = stored_hashes(copy)
    hasher = AnswerHasher(CHEAP_HASHING, None if other == "no pepper" else b"\x07" * PEPPER_BYTES)
    questions = service.questionnaire.questions
    for (qid, answer), stored in zip(ANSWERS, hashes, strict=True):
        with pytest.raises(StoreError, match="pepper"):
            hasher.verify(questions[qid], stored, answer)
    if other == "another pepper":  # and the kiosk on such a copy fails closed, saying why in its log
        stolen = service_in(copy, copy / "new-pepper")
        with pytest.raises(StoreError):
            verify(stolen)
        stolen.close()


def test_hashes_from_before_the_pepper_verify_and_are_rehashed_with_it(tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_SECRETS_DIR", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setattr("kiosk.config.sources.DEFAULT_SECRETS_DIR", tmp_path / "no-such-dir")
    old = service_in(tmp_path, None)  # no secrets directory: no pepper, as before it existed
    assert not old.backend.hasher.peppered
    enroll(old)
    old.close()
    assert all(h.startswith("n2$argon2id$") for h in stored_hashes(tmp_path))

    pepper_file = tmp_path / "kiosk_answer_pepper"
    new = service_in(tmp_path, pepper_file)
    verify(new)  # the old hashes verify ...
    marks = {h.partition("$")[0] for h in stored_hashes(tmp_path)}
    assert marks == {f"n2p{pepper_id(pepper_file.read_bytes())}"}  # ... and are replaced by peppered ones
    verify(new)
    with pytest.raises(VerificationFailed):  # and a wrong answer is still wrong
        verify(new, {**dict(ANSWERS), "first-pet": "Max"})
    new.close()


def _pepper_line(settings):
    from kiosk.check import run_checks

    (line,) = [r for r in run_checks(settings) if r.name == "answers pepper"]
    return line


def test_kiosk_check_reports_the_pepper_file(tmp_path, monkeypatch):
    monkeypatch.delenv("KIOSK_SECRETS_DIR", raising=False)
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)
    monkeypatch.setattr("kiosk.config.sources.DEFAULT_SECRETS_DIR", tmp_path / "no-such-dir")
    assert _pepper_line(settings_in(tmp_path, None)).state == "warn"  # nowhere to keep one

    pepper_file = tmp_path / "kiosk_answer_pepper"
    line = _pepper_line(settings_in(tmp_path, pepper_file))
    assert line.state == "warn" and "does not exist yet" in line.message

    service_in(tmp_path, pepper_file).close()  # made on first use
    line = _pepper_line(settings_in(tmp_path, pepper_file))
    assert line.state == "ok", line.message
    assert "mode 0600" in line.message and f"id {pepper_id(pepper_file.read_bytes())}" in line.message
    import grp
    import pwd

    facts = pepper_file.stat()
    owner = f"{pwd.getpwuid(facts.st_uid).pw_name}:{grp.getgrgid(facts.st_gid).gr_name}"
    assert f"({owner}, mode 0600" in line.message

    pepper_file.chmod(0o644)
    line = _pepper_line(settings_in(tmp_path, pepper_file))
    assert line.state == "fail" and "read by anyone" in line.message
    pepper_file.chmod(0o600)
    pepper_file.write_bytes(b"short")
    assert _pepper_line(settings_in(tmp_path, pepper_file)).state == "fail"
