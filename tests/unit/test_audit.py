"""The audit log: one JSON line per event, shared safely, never a secret, never a crash."""

from __future__ import annotations

import json
import multiprocessing
import re
import stat
import syslog

import pytest

from kiosk.backend import audit as audit_module
from kiosk.backend.audit import AuditLog, new_reference, read_events
from kiosk.config import AuditSettings

T0 = 1_717_243_200.25  # 2024-06-01T12:00:00.250Z


@pytest.fixture
def path(tmp_path):
    return tmp_path / "log" / "audit.jsonl"


def log_at(path, **kw) -> AuditLog:
    return AuditLog(AuditSettings(file=path, **kw), clock=lambda: T0)


def test_an_event_is_one_json_line_with_every_field(path):
    log_at(path).record(
        "reset", outcome="ok", account="CORP\\ada", terminal="tty1", operator=None,
        reason="", reference="K-ABC123", method="questions", attempts=2,
    )
    lines = path.read_text().splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0]) == {
        "time": "2024-06-01T12:00:00.250Z",
        "event": "reset",
        "outcome": "ok",
        "account": "CORP\\ada",
        "terminal": "tty1",
        "operator": None,
        "reason": "",
        "reference": "K-ABC123",
        "fields": {"method": "questions", "attempts": 2},
    }


def test_events_are_appended_and_read_back_in_order(path):
    log = log_at(path)
    for i in range(5):
        log.record("verify", outcome="failed", account=f"u{i}")
    assert [e["account"] for e in read_events(path)] == [f"u{i}" for i in range(5)]


def test_the_file_and_its_directory_are_made_private(path):
    log_at(path).record("start", outcome="ok")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_line_break_in_a_value_cannot_forge_a_second_event(path):
    log_at(path).record("verify", outcome="failed", account='x"}\n{"event":"reset","outcome":"ok')
    assert len(path.read_text().splitlines()) == 1


@pytest.mark.parametrize("name", ["password", "new_password", "Answer", "answers", "old_PASSWORD_hint"])
def test_a_field_named_like_a_secret_is_a_programming_error(path, name):
    with pytest.raises(ValueError, match="never log passwords or answers"):
        log_at(path).record("reset", outcome="ok", **{name: "x"})
    assert not path.exists()


def test_a_log_that_cannot_be_written_does_not_stop_the_kiosk(tmp_path, caplog):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    log = log_at(blocker / "audit.jsonl")
    assert log.healthy
    log.record("reset", outcome="ok")  # no exception
    assert not log.healthy
    assert "cannot write" in caplog.text


def test_the_log_becomes_healthy_again_when_writing_works_again(tmp_path):
    target = tmp_path / "later" / "audit.jsonl"
    (tmp_path / "later").write_text("")  # a file where the directory should be
    log = log_at(target)
    log.record("x", outcome="ok")
    assert not log.healthy
    (tmp_path / "later").unlink()
    log.record("x", outcome="ok")
    assert log.healthy
    assert len(list(read_events(target))) == 1


def test_logrotate_moving_the_file_away_is_followed(path):
    log = log_at(path)
    log.record("a", outcome="ok")
    path.rename(path.with_name("audit.jsonl.1"))
    log.record("b", outcome="ok")
    assert [e["event"] for e in read_events(path)] == ["b"]


def test_no_file_when_the_file_is_disabled(tmp_path):
    log = AuditLog(AuditSettings(file=None))
    log.record("x", outcome="ok")
    assert list(tmp_path.iterdir()) == []


def test_syslog_gets_the_same_line_with_authpriv(monkeypatch, tmp_path):
    sent = []
    monkeypatch.setattr(audit_module.syslog, "openlog", lambda *a: sent.append(("open", a)))
    monkeypatch.setattr(audit_module.syslog, "syslog", lambda prio, msg: sent.append((prio, msg)))
    log = AuditLog(AuditSettings(file=None, syslog=True), clock=lambda: T0)
    log.record("unlock", outcome="ok", account="CORP\\ada")
    assert sent[0] == ("open", ("kiosk", syslog.LOG_PID, syslog.LOG_AUTHPRIV))
    prio, msg = sent[1]
    assert prio == syslog.LOG_INFO | syslog.LOG_AUTHPRIV
    assert json.loads(msg)["event"] == "unlock"


def _writer(path: str, worker: int) -> None:
    log = AuditLog(AuditSettings(file=path))
    for i in range(200):
        log.record("verify", outcome="failed", account=f"w{worker}", n=i, padding="x" * 300)


def test_many_processes_appending_never_tear_or_interleave_lines(path):
    path.parent.mkdir(parents=True)
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_writer, args=(str(path), w)) for w in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    lines = path.read_text().splitlines()
    assert len(lines) == 6 * 200
    events = [json.loads(line) for line in lines]  # every line parses
    for w in range(6):
        assert [e["fields"]["n"] for e in events if e["account"] == f"w{w}"] == list(range(200))


def test_reading_skips_a_torn_last_line(path):
    log_at(path).record("a", outcome="ok")
    with path.open("a") as handle:
        handle.write('{"event": "b", "outc')
    assert [e["event"] for e in read_events(path)] == ["a"]


def test_references_are_short_readable_and_random():
    refs = {new_reference() for _ in range(200)}
    assert all(re.fullmatch(r"K-[0-9A-F]{6}", r) for r in refs)
    assert len(refs) > 190
