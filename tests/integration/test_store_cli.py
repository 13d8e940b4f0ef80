"""`kiosk store migrate` and `kiosk store copy`: moving a one-host SQLite site
onto the PostgreSQL database several hosts will share."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import quote

from kiosk.backend.model import OutboxNotice, TotpEnrollment
from kiosk.backend.store import common, open_store
from kiosk.cli import main
from store_samples import enrollment

ENROLLED = 250


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _fill_sqlite(path) -> tuple[str, bytes]:
    url = f"sqlite://{path}"
    with open_store(url) as store:
        for i in range(ENROLLED):
            store.put(enrollment(guid=f"guid-{i:04d}", account_name=f"CORP\\user{i:04d}",
                                 last_used_at=datetime(2024, 6, 1, tzinfo=UTC) if i % 3 == 0 else None))
        return url, store.site_secret("decoys")


def test_migrate_creates_the_schema_and_says_which_version(capsys, pg_cluster, pg_url):
    code, out, _ = run(capsys, "store", "migrate", "--url", pg_url)
    assert code == 0
    assert f"schema version {common.SCHEMA_VERSION} (was 0)" in out
    code, out, _ = run(capsys, "store", "migrate", "--url", pg_url, "--json")
    assert json.loads(out)["schema_version"] == common.SCHEMA_VERSION
    assert "nothing to do" not in out and pg_cluster.password not in out
    code, out, _ = run(capsys, "store", "migrate", "--url", pg_url)
    assert "nothing to do" in out and quote(pg_cluster.password, safe="") not in out


def test_copying_a_sqlite_site_twice_loses_nothing_and_duplicates_nothing(tmp_path, capsys, pg_cluster, pg_url):
    source, secret = _fill_sqlite(tmp_path / "kiosk.db")
    assert run(capsys, "store", "migrate", "--url", pg_url)[0] == 0

    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url)
    assert code == 0, out
    assert out.strip().splitlines()[-1] == (
        f"copied {ENROLLED} enrollments: {ENROLLED} added, 0 replaced by a newer one, 0 already there; "
        f"the destination now holds {ENROLLED}"
    )
    assert "site secrets copied: decoys" in out
    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url)
    assert code == 0
    assert f"0 added, 0 replaced by a newer one, {ENROLLED} already there; the destination now holds {ENROLLED}" in out
    assert not any(p in out for p in (pg_cluster.password, quote(pg_cluster.password, safe="")))

    with open_store(source) as old, open_store(pg_url) as new:
        assert new.count() == old.count() == ENROLLED
        assert list(new.enrollments()) == list(old.enrollments())  # every one equal, field by field
        assert new.site_secrets() == old.site_secrets() == {"decoys": secret}


def test_someone_who_enrolled_again_after_the_copy_keeps_their_new_answers(tmp_path, capsys, pg_url):
    source, _ = _fill_sqlite(tmp_path / "kiosk.db")
    run(capsys, "store", "copy", "--from", source, "--to", pg_url)
    newer = enrollment(guid="guid-0001", enrolled_at=datetime(2025, 3, 1, tzinfo=UTC))
    with open_store(pg_url) as new:
        new.put(newer)  # at a kiosk already on PostgreSQL
    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url, "--json")
    assert code == 0 and json.loads(out)["unchanged"] == ENROLLED
    with open_store(pg_url) as new:
        assert new.get("guid-0001") == newer


def test_a_different_site_secret_at_the_destination_is_kept_and_named(tmp_path, capsys, pg_url):
    source, secret = _fill_sqlite(tmp_path / "kiosk.db")
    with open_store(pg_url) as new:
        theirs = new.site_secret("decoys")
    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url)
    assert code == 0 and "site secret 'decoys' differs at the destination" in out
    with open_store(pg_url) as new:
        assert new.site_secret("decoys") == theirs != secret


def test_the_destination_defaults_to_the_configured_store(tmp_path, capsys, pg_url):
    source, _ = _fill_sqlite(tmp_path / "old.db")
    config = tmp_path / "kiosk.toml"
    config.write_text(
        '[directory]\nkind = "demo"\ndefault_domain = "DEMO"\n'
        '[[directory.domains]]\nnetbios = "DEMO"\ndns = "demo.example"\nbase_dn = "DC=demo,DC=example"\n'
        f'[store]\nurl = "{pg_url}"\n'
    )
    code, out, _ = run(capsys, "--config", str(config), "store", "copy", "--from", source)
    assert code == 0 and f"now holds {ENROLLED}" in out
    code, _, err = run(capsys, "--config", str(config), "store", "copy", "--from", pg_url)
    assert code == 2 and "the same store" in err


# --- the rest of a site: holds, authenticator apps, reminders, activation codes, outbox ---------

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOLD = f"{common.HOLD_PREFIX}account:guid:guid-0007"


def _totp(guid: str, *, step: int = 100, recovery=("r1", "r2", "r3"), enrolled_at=T0) -> TotpEnrollment:
    return TotpEnrollment(account_guid=guid, account_name="CORP\\ada", secret=b"\x01" * 44, last_step=step,
                          recovery=tuple(recovery), enrolled_at=enrolled_at)


def _notice(n: int) -> OutboxNotice:
    return OutboxNotice(id=0, event="reset", account="CORP\\ada", reference=f"ref-{n}", recipient="ada@corp.example",
                        message_id=f"<m{n}@kiosk>", subject="Your password was reset", body="…", created_at=T0)


def _fill_the_rest(url: str) -> None:
    with open_store(url) as store:
        store.add_failure(HOLD, T0.timestamp(), 900)
        store.add_failure("account:guid:guid-0008", T0.timestamp(), 900)  # a counter: not copied
        store.put_totp(_totp("guid-0001"))
        store.put_totp(_totp("guid-0002", step=7, recovery=("x",)))
        store.claim_reminder("guid-0003", "enroll", T0, 86400, [_notice(1)])
        store.claim_reminder("guid-0004", "expiry", T0, 86400, [])
        store.put_activation_code("guid-0005", b"\x02" * 32, datetime(2030, 1, 1, tzinfo=UTC), "CORP\\helper")
        store.queue_notice(_notice(2))
        claimed = store.claim_notices("host-a", T0, 60, 10)
        store.notice_failed(next(n.id for n in claimed if n.reference == "ref-2"), "host-a",
                            datetime(2026, 3, 1, 9, 5, tzinfo=UTC), "relay said 451")


def _the_rest(store) -> dict:
    return {
        "holds": store.holds(),
        "counter": store.failures("account:guid:guid-0008", T0.timestamp(), 900)[0],
        "totp": list(store.totps()),
        "reminders": store.reminders(),
        "codes": store.activation_codes(),
        "outbox": [(replace(n, id=0), due) for n, due in store.outbox()],
    }


def test_holds_authenticators_reminders_codes_and_notices_go_there_and_back(tmp_path, capsys, pg_url):
    source, _ = _fill_sqlite(tmp_path / "kiosk.db")
    _fill_the_rest(source)
    with open_store(source) as old:
        before = _the_rest(old)
    assert before["counter"] == 1 and len(before["outbox"]) == 2 and before["outbox"][1][0].attempts == 1

    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url)
    assert code == 0, out
    assert ("also: 2 authenticator apps added, 0 brought up to date; 1 throttle holds, 2 reminders, "
            "1 activation codes, 2 waiting notices") in out
    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url, "--json")
    again = json.loads(out)
    assert [again[k] for k in ("totp_added", "totp_updated", "holds_added", "reminders_moved",
                               "activation_codes_kept", "notices_added")] == [0] * 6  # nothing twice
    with open_store(pg_url) as new:
        there = _the_rest(new)
    assert there == {**before, "counter": 0}  # failure counters stay behind

    back = f"sqlite://{tmp_path / 'back.db'}"
    assert run(capsys, "store", "copy", "--from", pg_url, "--to", back)[0] == 0
    with open_store(back) as returned:
        assert _the_rest(returned) == {**before, "counter": 0}
        assert returned.count() == ENROLLED


def test_an_authenticator_used_at_either_store_stays_used(tmp_path, capsys, pg_url):
    source, _ = _fill_sqlite(tmp_path / "kiosk.db")
    _fill_the_rest(source)
    run(capsys, "store", "copy", "--from", source, "--to", pg_url)
    with open_store(source) as old:
        assert old.use_totp_step("guid-0001", 150)  # a code used at the old store after the copy
        assert old.use_recovery_code("guid-0001", "r1")
    with open_store(pg_url) as new:
        assert new.use_recovery_code("guid-0001", "r3")  # and one at the new
        new.put_totp(_totp("guid-0002", enrolled_at=datetime(2026, 4, 1, tzinfo=UTC)))  # enrolled again there
    code, out, _ = run(capsys, "store", "copy", "--from", source, "--to", pg_url, "--json")
    assert code == 0 and json.loads(out)["totp_updated"] == 1
    with open_store(pg_url) as new:
        merged = new.totp("guid-0001")
        assert merged.last_step == 150 and merged.recovery == ("r2",)
        assert not new.use_totp_step("guid-0001", 150)  # no replay of the code used at the old store
        assert new.totp("guid-0002").enrolled_at == datetime(2026, 4, 1, tzinfo=UTC)  # the newer kept
