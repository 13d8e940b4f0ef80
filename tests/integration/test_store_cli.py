"""`kiosk store migrate` and `kiosk store copy`: moving a one-host SQLite site
onto the PostgreSQL database several hosts will share."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

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
