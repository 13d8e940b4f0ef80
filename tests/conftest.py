"""Shared fixtures. Each block below is owned by one area; add yours as a new block."""

from __future__ import annotations

# ===================================================================== AD lab
# Samba AD DC on loopback (scripts/ad-lab, helpers in tests/lab.py).
#   lab        session: starts the lab once in ${KIOSK_LAB_DIR:-<repo>/.lab},
#              runs `ad-lab reset`, yields lab.Lab. Only started when a
#              collected test requests it. Stopped at the end unless
#              KIOSK_LAB_KEEP=1 or it was already running before the session.
#              Not root / cannot start: skip, or FAIL when $CI or
#              KIOSK_REQUIRE_LAB=1 is set.
#   lab_admin  session: admin ldap3 Connection (LDAPS, raise_exceptions=True)
#   lab_user   function: throwaway enabled user in OU=Staff, member of
#              Staff Team (so nested member of Kiosk Users); deleted after.
# Tests that use `lab` get the `lab` marker automatically.
import contextlib
import os
from pathlib import Path

import pytest

try:
    import lab as lablib
except ImportError:  # tests/ became a package
    from tests import lab as lablib


def _lab_required() -> bool:
    return bool(os.environ.get("CI")) or os.environ.get("KIOSK_REQUIRE_LAB") == "1"


def _lab_unavailable(reason: str) -> None:
    if _lab_required():
        pytest.fail(f"AD lab required (CI / KIOSK_REQUIRE_LAB=1) but unavailable: {reason}", pytrace=False)
    pytest.skip(f"AD lab unavailable: {reason}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "lab" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.lab)


@pytest.fixture(scope="session")
def lab():
    lab_dir = Path(os.environ.get("KIOSK_LAB_DIR") or lablib.REPO / ".lab")
    if os.geteuid() != 0:
        _lab_unavailable("needs root (samba binds ports 88/389/636); run the tests as root")
    error = was_running = None
    try:
        the_lab, was_running = lablib.ensure_lab(lab_dir)
        lablib.reset_lab(lab_dir)
    except lablib.LabError as e:
        error = str(e)
        if was_running is False:  # started it, then reset failed: do not leave it behind
            with contextlib.suppress(lablib.LabError):
                lablib.stop_lab(lab_dir)
    if error is not None:
        _lab_unavailable(error)
    yield the_lab
    if os.environ.get("KIOSK_LAB_KEEP") != "1" and not was_running:
        lablib.stop_lab(lab_dir)


@pytest.fixture(scope="session")
def lab_admin(lab):
    conn = lablib.admin_connection(lab)
    yield conn
    conn.unbind()


@pytest.fixture
def lab_user(lab, lab_admin):
    dn, sam, password = lablib.create_user(lab, lab_admin, groups=[lab.staff_team_dn])
    yield lablib.LabUser(dn=dn, sam=sam, password=password, upn=lab.upn(sam), nt_name=lab.nt_name(sam))
    lablib.delete_user(lab_admin, dn)


# ================================================================ end AD lab


# ================================================================ PostgreSQL
# A throwaway PostgreSQL cluster (helpers in tests/pg.py; Debian's postgresql).
#   pg_cluster  session: initdb + pg_ctl in a temp dir (as the postgres user
#               when root), listening on 127.0.0.1:<free port> and a socket in
#               that dir; the role `kiosk` with a password. Only started when a
#               collected test requests it; stopped and deleted at the end.
#               No postgres here / cannot start: skip, or FAIL when $CI or
#               KIOSK_REQUIRE_LAB=1 is set (the AD lab's rule).
#   pg_url      function: a fresh database owned by `kiosk`, as the URL the
#               kiosk would use (postgresql://kiosk:<password>@127.0.0.1:<port>/<db>);
#               dropped after the test (WITH FORCE: leftover connections too).
#   pg_tls_cluster  session: another such cluster with ssl = on and a server
#               certificate (localhost, 127.0.0.1, db.kiosk.test) from a CA it
#               made (.ca_file); started only when a test requests it.
# Tests that use `pg_cluster` or `pg_tls_cluster` get the `postgresql` marker automatically.
import itertools
import re

try:
    import pg as pglib
except ImportError:  # tests/ became a package
    from tests import pg as pglib

_pg_databases = itertools.count(1)


def pytest_itemcollected(item):
    if {"pg_cluster", "pg_tls_cluster"} & set(getattr(item, "fixturenames", ())):
        item.add_marker(pytest.mark.postgresql)


def _start_pg(**options):
    try:
        return pglib.PgCluster.start(**options)
    except (pglib.PgUnavailable, OSError) as e:
        if _lab_required():
            pytest.fail(f"PostgreSQL required (CI / KIOSK_REQUIRE_LAB=1) but unavailable: {e}", pytrace=False)
        pytest.skip(f"PostgreSQL unavailable: {e}")


@pytest.fixture(scope="session")
def pg_tls_cluster():
    cluster = _start_pg(tls=True)
    yield cluster
    cluster.remove()


@pytest.fixture(scope="session")
def pg_cluster():
    cluster = _start_pg()
    yield cluster
    cluster.remove()


@pytest.fixture
def pg_url(request, pg_cluster):
    name = f"t{next(_pg_databases)}_" + re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)


# ============================================================ end PostgreSQL
