"""The administrator's command line: plain answers, clear errors, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiosk.backend.directory.demo import DemoDirectory
from kiosk.backend.demo_seed import seed_demo
from kiosk.backend.wiring import build_service
from kiosk.cli import main
from support import fast

CONFIG = """
[directory]
kind = "demo"
default_domain = "DEMO"
[[directory.domains]]
netbios = "DEMO"
dns = "demo.example"
base_dn = "DC=demo,DC=example"

[answers]
time_cost = 5
memory_cost_kib = 7168
parallelism = 1

[store]
url = "sqlite://{dir}/kiosk.db"

[audit]
file = "{dir}/audit.jsonl"

[kiosk]
log_file = "{dir}/kiosk.log"
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(CONFIG.format(dir=tmp_path))
    return path


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_questions_round_trip_through_export_and_import(config, tmp_path, capsys):
    exported = tmp_path / "exported.toml"
    code, out, _ = run(capsys, "--config", str(config), "questions", "export", str(exported))
    assert code == 0 and "6 questions" in out
    code, out, _ = run(capsys, "--config", str(config), "questions", "import", "--dry-run", str(exported))
    assert code == 0
    assert "valid, 6 questions, 3 answers per person" in out
    assert "dry run: nothing written" in out
    assert not (tmp_path / "questions.toml").exists()


def test_an_import_shows_what_changes_and_installs_questions_beside_the_config(config, tmp_path, capsys):
    new = tmp_path / "new.toml"
    new.write_text(
        '[questions]\n[[questions.questions]]\nid = "birth-city"\ntext = "Where were you born?"\n'
        '[[questions.questions]]\nid = "first-car"\ntext = "What was your first car?"\n'
        '[[questions.questionnaire]]\nquestion = "birth-city"\n'
        '[[questions.questionnaire]]\nquestion = "first-car"\n'
    )
    code, out, _ = run(capsys, "--config", str(config), "questions", "import", "--json", str(new))
    summary = json.loads(out)
    assert code == 0
    assert summary["added"] == ["first-car"]
    assert summary["edited"] == ["birth-city"]
    assert "first-pet" in summary["removed"]
    assert (tmp_path / "questions.toml").exists()
    code, out, _ = run(capsys, "--config", str(config), "questions", "export", "-")
    assert "What was your first car?" in out


def test_a_malformed_questions_file_is_refused_with_a_clear_error(config, tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[questions]\n[[questions.questionnaire]]\nquestion = "no-such-question"\n')
    code, _, err = run(capsys, "--config", str(config), "questions", "import", "--dry-run", str(bad))
    assert code == 2
    assert "unknown question id(s): no-such-question" in err
    assert "Traceback" not in err
    bad.write_text("[questions\n")
    code, _, err = run(capsys, "--config", str(config), "questions", "import", str(bad))
    assert code == 2 and "not valid TOML" in err


def test_questions_in_both_files_are_refused(config, tmp_path, capsys):
    (tmp_path / "questions.toml").write_text("[questions]\nmin_remaining_to_verify = 0\n")
    config.write_text(config.read_text() + "\n[questions]\nmin_remaining_to_verify = 1\n")
    code, _, err = run(capsys, "--config", str(config), "questions", "export", "-")
    assert code == 2 and "keep one" in err


def test_revoke_forgets_a_persons_answers(config, tmp_path, capsys):
    from kiosk.config.loading import load_settings

    settings = fast(load_settings(config, environ={}))
    directory = DemoDirectory()
    seed_demo(build_service(settings, directory=directory), directory)

    code, out, _ = run(capsys, "--config", str(config), "enrollment", "revoke", "alice")
    assert code == 0 and "revoked the enrollment of DEMO\\alice" in out
    code, out, _ = run(capsys, "--config", str(config), "enrollment", "revoke", "alice")
    assert code == 0 and "was not enrolled" in out
    code, out, _ = run(capsys, "--config", str(config), "enrollment", "revoke", "nobody")
    assert code == 1 and "no account matches" in out

    events = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert any(e["event"] == "revoke" and e["outcome"] == "success" for e in events)


def test_audit_tail_shows_the_last_events(config, tmp_path, capsys):
    lines = [json.dumps({"time": f"t{i}", "event": "verify", "outcome": "failure", "account": "DEMO\\bob"}) for i in range(30)]
    (tmp_path / "audit.jsonl").write_text("\n".join(lines) + "\n")
    code, out, _ = run(capsys, "--config", str(config), "audit", "tail", "-n", "3")
    assert code == 0
    assert out.splitlines() == [f"t{i}  verify  failure  account=DEMO\\bob" for i in (27, 28, 29)]
    code, out, _ = run(capsys, "--config", str(config), "audit", "tail", "-n", "1", "--json")
    assert json.loads(out)["time"] == "t29"


def test_a_bad_config_stops_every_command_with_one_message(tmp_path, capsys):
    bad = tmp_path / "kiosk.toml"
    bad.write_text("[kiosk]\nidle_timeout_seconds = 1\n")
    code, _, err = run(capsys, "--config", str(bad), "audit", "tail")
    assert code == 2
    assert "kiosk.idle_timeout_seconds = 1" in err
    code, out, _ = run(capsys, "--config", str(bad), "check")
    assert code == 1 and "FAIL config" in out


def test_the_kiosk_refuses_to_start_without_a_terminal(config, capsys):
    code, _, err = run(capsys, "--config", str(config))
    assert code == 2
    assert "needs an interactive terminal" in err


def seeded(config):
    from kiosk.config.loading import load_settings

    settings = fast(load_settings(config, environ={}))
    directory = DemoDirectory()
    seed_demo(build_service(settings, directory=directory), directory)


def test_the_enrollment_report_lists_eligible_people_in_three_formats(config, capsys):
    seeded(config)
    code, out, _ = run(capsys, "--config", str(config), "enrollment", "report")
    assert code == 0
    assert "DEMO\\alice" in out and "DEMO\\bob" in out
    assert "DEMO\\dana" not in out  # privileged: not eligible, so not in the report
    assert "enrolled, 0 should enroll again" in out

    code, out, _ = run(capsys, "--config", str(config), "enrollment", "report", "--format", "json")
    report = json.loads(out)
    states = {row["account"]: row["state"] for row in report["accounts"]}
    assert states["DEMO\\alice"] == "enrolled"
    assert states["DEMO\\bob"] == "not_enrolled"
    assert report["counts"]["enrolled"] >= 2

    code, out, _ = run(capsys, "--config", str(config), "enrollment", "report", "--format", "csv")
    header, *rows = out.splitlines()
    assert header == "account,display_name,state,enrolled_at,last_used_at,can_verify"
    assert any(row.startswith("DEMO\\bob,Bob Brown,not_enrolled") for row in rows)


def test_the_report_counts_people_whose_questions_were_removed_as_partial(config, tmp_path, capsys):
    seeded(config)
    config.write_text(
        config.read_text()
        + '\n[questions]\n[[questions.questions]]\nid = "birth-city"\ntext = "Where were you born?"\n'
        '[[questions.questions]]\nid = "first-pet"\ntext = "First pet?"\n'
        '[[questions.questionnaire]]\nquestion = "birth-city"\n[[questions.questionnaire]]\nquestion = "first-pet"\n'
    )
    code, out, _ = run(capsys, "--config", str(config), "enrollment", "report", "--format", "json")
    states = {row["account"]: row["state"] for row in json.loads(out)["accounts"]}
    assert states["DEMO\\alice"] == "partial"


def test_check_covers_the_store_and_the_audit_log(config, tmp_path, capsys):
    code, out, _ = run(capsys, "--config", str(config), "check")
    assert code == 0
    assert "ok    store: sqlite://" in out and "readable and writable, 0 enrolled" in out
    assert "ok    audit: writes to" in out


def test_check_fails_on_an_audit_directory_that_does_not_exist(config, tmp_path, capsys):
    config.write_text(config.read_text().replace(f'file = "{tmp_path}/audit.jsonl"', 'file = "/nonexistent/dir/audit.jsonl"'))
    code, out, _ = run(capsys, "--config", str(config), "check")
    assert code == 1
    assert "FAIL  audit: audit.file: the directory /nonexistent/dir does not exist" in out


def test_check_fails_on_a_store_that_is_not_a_kiosk_store(config, tmp_path, capsys):
    (tmp_path / "kiosk.db").write_bytes(b"this is not a database" * 100)
    code, out, _ = run(capsys, "--config", str(config), "check")
    assert code == 1
    assert "FAIL  store:" in out


def test_throttle_clear_lifts_a_hold_for_good_and_is_audited(config, tmp_path, capsys):
    from kiosk.backend.errors import Throttled
    from kiosk.backend.service import SelfService
    from kiosk.backend.wiring import open_backend
    from kiosk.config.loading import load_settings

    config.write_text(config.read_text() + "\n[throttle]\naccount_max_failures = 50\nlifetime_max_failures = 3\n")
    settings = fast(load_settings(config, environ={}))
    service = SelfService(settings, open_backend(settings))
    try:
        for typed in ("alice", "nobody-here"):
            visit = service.begin(typed, "tty1")
            for _ in range(3):
                service.backend.throttle.failed(service.backend.throttle.begin_attempt(visit.throttle_key, "tty1"))
            with pytest.raises(Throttled):
                service.backend.throttle.begin_attempt(visit.throttle_key, "tty1")
    finally:
        service.close()

    code, out, _ = run(capsys, "--config", str(config), "throttle", "status", "alice")
    assert code == 0 and "DEMO\\alice: 3 failed attempt(s)" in out and "held until cleared" in out
    code, out, _ = run(capsys, "--config", str(config), "throttle", "clear", "DEMO\\alice")
    assert code == 0 and "cleared the failed attempts of DEMO\\alice: 3" in out
    code, out, _ = run(capsys, "--config", str(config), "throttle", "status", "--json", "alice@demo.example")
    assert json.loads(out) | {"user": "-"} == {
        "user": "-", "found": True, "failures_in_window": 0, "locked_until": None,
        "consecutive_failures": 0, "locked_for_good": False,
    }
    # A name that is no account: its keyed name is cleared, and never written down as typed.
    code, out, _ = run(capsys, "--config", str(config), "throttle", "status", "--json", "nobody-here")
    status = json.loads(out)
    assert status["found"] is False and status["locked_for_good"] is True
    code, out, _ = run(capsys, "--config", str(config), "throttle", "clear", "nobody-here")
    assert code == 0 and "(no such account)" in out
    code, out, _ = run(capsys, "--config", str(config), "throttle", "status", "--json", "nobody-here")
    assert json.loads(out)["locked_for_good"] is False

    audit = (tmp_path / "audit.jsonl").read_text()
    events = [json.loads(line) for line in audit.splitlines()]
    clears = [e for e in events if e["event"] == "throttle_clear"]
    assert [e["outcome"] for e in clears] == ["success", "success"]
    assert clears[0]["account"] == "DEMO\\alice" and clears[1]["account"].startswith("unknown:")
    assert all(e["operator"] for e in clears)
    assert "nobody-here" not in audit
