"""`kiosk check` on a PostgreSQL store: reach and login, TLS, schema version,
each a line that says what to do; the password never shown."""

from __future__ import annotations

from urllib.parse import quote

from kiosk.backend.store import common
from kiosk.check import run_checks
from kiosk.cli import main


def _config(tmp_path, store_url: str):
    path = tmp_path / "kiosk.toml"
    path.write_text(
        '[directory]\nkind = "demo"\ndefault_domain = "DEMO"\n'
        '[[directory.domains]]\nnetbios = "DEMO"\ndns = "demo.example"\nbase_dn = "DC=demo,DC=example"\n'
        f'[store]\nurl = "{store_url}"\n[audit]\nfile = "{tmp_path}/audit.jsonl"\n'
    )
    return path


def _check(capsys, config) -> tuple[int, dict[str, str]]:
    code = main(["--config", str(config), "check"])
    out = capsys.readouterr().out
    lines = {}
    for line in out.splitlines():
        if line.startswith(("ok  ", "FAIL")) and ":" in line:
            status, rest = line.split(None, 1)
            name, _, message = rest.partition(": ")
            lines[name] = f"{status} {message}"
    return code, lines


def test_a_new_database_is_reachable_but_needs_its_schema_first(tmp_path, capsys, pg_cluster, pg_url):
    config = _config(tmp_path, pg_url)
    code, lines = _check(capsys, config)
    assert code == 1
    assert lines["store server"].startswith("ok ") and "PostgreSQL 1" in lines["store server"]
    assert lines["store tls"] == "ok not encrypted: a local connection (a Unix socket or loopback)"
    assert lines["store schema"] == f"FAIL no kiosk schema yet; this kiosk needs version {common.SCHEMA_VERSION}: run `kiosk store migrate`"
    assert "store" not in lines  # not opened: opening would migrate behind the administrator's back

    assert main(["--config", str(config), "store", "migrate"]) == 0
    capsys.readouterr()
    code, lines = _check(capsys, config)
    assert lines["store schema"] == f"ok version {common.SCHEMA_VERSION}, as this kiosk expects"
    assert lines["store"].startswith("ok postgresql://kiosk:***@127.0.0.1:")
    assert lines["store"].endswith(f"readable and writable, 0 enrolled, schema version {common.SCHEMA_VERSION}")
    assert code == 0
    assert not any(pg_cluster.password in v or quote(pg_cluster.password, safe="") in v for v in lines.values())


def test_a_wrong_password_or_a_dead_server_is_named(pg_cluster, pg_url, tmp_path):
    class Whole:
        class directory:
            kind = "demo"

        class store:
            url = pg_url.replace(quote(pg_cluster.password, safe=""), "wrong")

        class audit:
            file = tmp_path / "audit.jsonl"
            syslog = False

    [server] = [r for r in run_checks(Whole()) if r.name == "store server"]
    assert not server.ok and server.name == "store server"
    assert "refused the login (wrong user or password)" in server.message
    Whole.store.url = pg_url.replace(f":{pg_cluster.port}/", ":1/")
    [server] = [r for r in run_checks(Whole()) if r.name == "store server"]
    assert "127.0.0.1:1/" in server.message and "refused the connection" in server.message
