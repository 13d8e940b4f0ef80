"""After enrolling and verifying, no answer and no password is anywhere on disk."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.backend.answers import AnswerHasher, normalise
from kiosk.backend.audit import AuditLog, new_reference
from kiosk.backend.model import Enrollment, StoredAnswer
from kiosk.backend.questions import Questionnaire, check_answer
from kiosk.backend.store.sqlite import SqliteStore
from kiosk.backend.throttle import Throttle
from kiosk.config import AnswerHashSettings, AuditSettings, QuestionsSettings, ThrottleSettings

GUID = "5a1b2c3d-0000-4000-8000-00000000abcd"
ANSWERS = {
    "birth-city": "  Ünterschleißheim-Qx ",
    "first-pet": "Mister Whiskerfloof 77",
    "first-concert": "Ｄｅｅｐ Ｐｕｒｐｌｅ 1972",
}
WRONG = ["Wrongtown-Zy", "Fluffernutter 88", "Kraftwerk 1981"]
PASSWORDS = ["Old-Passw0rd!#", "N3w-Sup3r-S3cret%", "Temp-Activ8-Xy"]


def secrets_to_look_for() -> list[str]:
    words = []
    for raw in [*ANSWERS.values(), *WRONG]:
        words += [raw, raw.strip(), normalise(raw), normalise(raw, case_sensitive=True)]
    words += PASSWORDS
    return sorted(set(w for w in words if len(w) >= 4))


def all_bytes(paths: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def encodings(word: str) -> list[bytes]:
    return [word.encode("utf-8"), word.encode("utf-16-le"), word.encode("unicode_escape")]


@pytest.fixture
def kiosk(tmp_path):
    store = SqliteStore(tmp_path / "kiosk.db")
    audit = AuditLog(AuditSettings(file=tmp_path / "audit.jsonl"))
    yield tmp_path, store, audit
    store.close()


def test_enrolling_and_verifying_leave_no_answer_or_password_at_rest(kiosk):
    tmp_path, store, audit = kiosk
    questionnaire = Questionnaire.from_settings(QuestionsSettings())
    old = AnswerHasher(AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1))
    current = AnswerHasher(AnswerHashSettings(time_cost=2, memory_cost_kib=16, parallelism=1))
    throttle = Throttle(store, ThrottleSettings(delay_seconds=0), sleep=lambda s: None)

    # --- enroll (the person proved themselves with their current password elsewhere)
    ids = list(ANSWERS)
    questionnaire.validate_selection(ids)
    earlier: list[str] = []
    stored = []
    for qid in ids:
        question = questionnaire.questions[qid]
        check_answer(question, ANSWERS[qid], earlier_answers=earlier, account_names=["CORP\\ada"])
        earlier.append(ANSWERS[qid])
        stored.append(StoredAnswer(qid, question.text, old.hash(question, ANSWERS[qid])))
    store.put(Enrollment(GUID, "CORP\\ada", tuple(stored), datetime.now(UTC)))
    audit.record("enroll", outcome="ok", account="CORP\\ada", terminal="tty1", questions=len(ids))

    # --- a wrong guess
    attempt = throttle.begin_attempt(GUID, "tty1")
    enrollment = store.get(GUID)
    challenge = questionnaire.challenge_for(enrollment)
    hashes = {a.question_id: a.answer_hash for a in enrollment.answers}
    ok = all(current.verify(q, hashes[q.id], w) for q, w in zip(challenge, WRONG))
    assert not ok
    throttle.failed(attempt)
    audit.record("verify", outcome="failed", account="CORP\\ada", terminal="tty1", reference=new_reference())

    # --- the right answers, typed differently, then a reset with a new password
    attempt = throttle.begin_attempt(GUID, "tty1")
    typed = {qid: answer.upper() for qid, answer in ANSWERS.items()}
    assert all(current.verify(q, hashes[q.id], typed[q.id]) for q in challenge)
    throttle.succeeded(attempt)
    for q in challenge:  # parameters changed since enrollment: store fresh hashes
        if current.needs_rehash(hashes[q.id]):
            store.replace_hash(GUID, q.id, current.hash(q, typed[q.id]))
    store.mark_used(GUID, datetime.now(UTC))
    audit.record("reset", outcome="ok", account="CORP\\ada", terminal="tty1", method="questions")

    # --- an unknown person gets decoys
    decoys = questionnaire.decoys(store.site_secret("decoys"), "CORP\\nobody")
    assert not any(current.decoy_verify(q, w) for q, w in zip(decoys, WRONG))
    audit.record("verify", outcome="failed", account="CORP\\nobody", terminal="tty1")

    # --- look at every byte on disk, while open and after closing
    files = [tmp_path / "kiosk.db", tmp_path / "kiosk.db-wal", tmp_path / "kiosk.db-shm", audit.path]
    snapshots = [all_bytes(files)]
    store.close()
    snapshots.append(all_bytes(files))
    assert GUID.encode() in snapshots[0]  # the search does find what is there

    for blob in snapshots:
        for word in secrets_to_look_for():
            for encoded in encodings(word):
                assert encoded not in blob, f"{word!r} found at rest"
                assert encoded.lower() not in blob.lower(), f"{word!r} found at rest (any case)"
