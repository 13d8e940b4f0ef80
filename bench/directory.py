"""Latency of ActiveDirectory's operations next to bare ldap3 doing the same LDAP work.

    .venv/bin/python bench/directory.py [-n RUNS] [--lab-dir DIR] [--quick]

The lab comes from the KIOSK_TEST_* variables when set (eval "$(scripts/ad-lab
env .lab)"), else from ``scripts/ad-lab env DIR``; it is started through
tests/lab.py when it is not running (that needs root) and left running.
The kiosk side gets the lab's DirectorySettings the way the tests do
(tests/support.py lab_directory_settings: validated like a config file's).
Throwaway users are created for the run and deleted afterwards.

Bare ldap3 is tuned the same way (get_info=NONE, TCP_NODELAY, one long-lived
service connection), so the ratio shows the backend's own overhead; goal <= 1.2x.
Prints numbers only; asserts nothing.

--quick (or KIOSK_BENCH_QUICK=1): 2 runs of everything, to check that the
script still works (tests/integration/test_bench_scripts.py); not a measurement.
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

import lab as lablib  # noqa: E402  (tests/lab.py)
from support import lab_directory_settings  # noqa: E402  (tests/support.py)
from ldap3 import BASE, MODIFY_REPLACE, NONE, SUBTREE, Connection, Server, Tls  # noqa: E402
from ldap3.utils.conv import escape_filter_chars  # noqa: E402

from kiosk.backend.directory import ad  # noqa: E402
from kiosk.backend.errors import AccountLocked, InvalidCredentials  # noqa: E402
from kiosk.backend.model import Identity  # noqa: E402


def load_lab(lab_dir: Path) -> lablib.Lab:
    if os.environ.get("KIOSK_TEST_LDAP_URL"):
        return lablib.Lab.from_env(os.environ)
    if lablib.lab_running(lab_dir):
        return lablib.Lab.from_env(lablib.lab_env(lab_dir))
    print(f"starting the lab in {lab_dir} ...", file=sys.stderr)
    return lablib.start_lab(lab_dir)


def timed(action: Callable[[], object], runs: int, warmup: int = 2) -> list[float]:
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18] if len(samples) > 1 else samples[0]


class Bare:
    """ldap3 as a careful programmer would use it directly."""

    def __init__(self, lab: lablib.Lab) -> None:
        self.lab = lab
        self.tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=lab.ca_file, valid_names=[lab.tls_server_name])
        self.service = self.connect(lab.svc_user, lab.svc_password)

    def connect(self, user: str, password: str) -> Connection:
        server = Server(self.lab.host, port=self.lab.port, use_ssl=True, tls=self.tls, get_info=NONE, connect_timeout=5)
        conn = Connection(server, user=user, password=password, receive_timeout=10, auto_referrals=False)
        conn.open(read_server_info=False)
        conn.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.bind(read_server_info=False)
        return conn

    def bind_once(self, user: str, password: str) -> bool:
        conn = self.connect(user, password)
        ok = conn.bound
        conn.unbind()
        return ok

    def find(self, sam: str, primary_group_dn: str) -> None:
        # Same requests as ActiveDirectory.find_account (primary group DN cached):
        # the user, then one memberOf search per nesting level.
        conn, base = self.service, self.lab.base_dn
        attributes = list(ad._ACCOUNT_ATTRIBUTES + ad.DEFAULT_EXTRA_ATTRIBUTES)
        conn.search(
            base,
            f"(&(objectCategory=person)(objectClass=user)(sAMAccountName={escape_filter_chars(sam)}))",
            SUBTREE,
            attributes=attributes,
            size_limit=2,
        )
        entry = next(r for r in conn.response if r["type"] == "searchResEntry")
        frontier = [v.decode() for v in entry["raw_attributes"].get("memberOf", [])] + [primary_group_dn]
        seen: set[str] = set()
        while frontier:
            new = [dn for dn in dict.fromkeys(frontier) if dn.lower() not in seen]
            if not new:
                break
            seen.update(dn.lower() for dn in new)
            wanted = "".join(f"(distinguishedName={escape_filter_chars(dn)})" for dn in new)
            conn.search(base, f"(|{wanted})", SUBTREE, attributes=["memberOf"])
            frontier = [
                v.decode() for r in conn.response if r["type"] == "searchResEntry" for v in r["raw_attributes"].get("memberOf", [])
            ]

    def unlock(self, dn: str) -> None:
        self.service.modify(dn, {"lockoutTime": [(MODIFY_REPLACE, [0])]})

    def reset(self, dn: str, password: str) -> None:
        self.service.modify(dn, {"unicodePwd": [(MODIFY_REPLACE, [ad.encode_password(password)])]})

    def policy(self, dn: str) -> None:
        self.service.search(dn, "(objectClass=*)", BASE, attributes=["msDS-ResultantPSO"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--runs", type=int, help="samples per operation (default 30; --quick: 2)")
    parser.add_argument("--lab-dir", type=Path, default=Path(os.environ.get("KIOSK_LAB_DIR") or REPO / ".lab"))
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="a couple of runs, to check the script works (also KIOSK_BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    runs = args.runs or (2 if args.quick else 30)
    # reset_password and ldap3's default connect are slow: fewer samples of them.
    few = 2 if args.quick else max(5, runs // 3)

    lab = load_lab(args.lab_dir)
    admin = lablib.admin_connection(lab)
    users = {role: lablib.create_user(lab, admin, groups=[lab.staff_team_dn]) for role in ("find", "good", "bad", "reset")}
    directory = ad.ActiveDirectory(lab_directory_settings(lab))
    bare = Bare(lab)
    try:
        account = {role: directory.find_account(Identity(typed=sam, domain=lab.netbios, sam=sam)) for role, (_, sam, _) in users.items()}
        domain_users = f"CN=Domain Users,CN=Users,{lab.base_dn}"
        good_dn, _, good_pw = users["good"]
        bad_dn = users["bad"][0]
        reset_dn = users["reset"][0]
        new_pw = lablib.new_password()

        def verify_bad() -> None:
            try:
                directory.verify_password(account["bad"], "Wrong!Bench-1")
            except (InvalidCredentials, AccountLocked):
                pass

        def reset_ours() -> None:
            directory.reset_password(account["reset"], new_pw)

        def fresh_ours() -> None:
            connection, _ = directory._bound(good_dn, good_pw)
            ad._close_quietly(connection)

        rows: list[tuple[str, Callable[[], object], Callable[[], object], int]] = [
            ("find_account", lambda: directory.find_account(Identity(typed="x", domain=lab.netbios, sam=users["find"][1])), lambda: bare.find(users["find"][1], domain_users), runs),
            ("verify_password ok", lambda: directory.verify_password(account["good"], good_pw), lambda: bare.bind_once(good_dn, good_pw), runs),
            ("verify_password bad (*)", verify_bad, lambda: bare.bind_once(bad_dn, "Wrong!Bench-1"), runs),
            ("unlock", lambda: directory.unlock(account["bad"]), lambda: bare.unlock(bad_dn), runs),
            ("reset_password", reset_ours, lambda: bare.reset(reset_dn, new_pw), few),
            ("password_policy (cached domain)", lambda: directory.password_policy(account["good"]), lambda: bare.policy(good_dn), runs),
            ("fresh connect+TLS+bind", fresh_ours, lambda: bare.bind_once(good_dn, good_pw), runs),
        ]
        print(f"Samba AD lab {lab.url}, {runs} runs (reset: {few}), times in ms")
        print(f"{'operation':34} {'kiosk med':>9} {'p95':>7} {'ldap3 med':>9} {'p95':>7} {'ratio':>6}")
        for name, ours, theirs, n in rows:
            # Interleave the two sides in blocks so drift hits both alike.
            mine, base = [], []
            for _ in range(2):
                mine += timed(ours, n // 2 or 1)
                base += timed(theirs, n // 2 or 1)
            ratio = statistics.median(mine) / statistics.median(base)
            print(
                f"{name:34} {statistics.median(mine):9.2f} {p95(mine):7.2f} "
                f"{statistics.median(base):9.2f} {p95(base):7.2f} {ratio:5.2f}x"
            )
        defaults = []
        for _ in range(few):
            started = time.perf_counter()
            conn = Connection(
                Server(lab.host, port=lab.port, use_ssl=True, tls=bare.tls), user=good_dn, password=good_pw, auto_bind=True
            )
            defaults.append((time.perf_counter() - started) * 1000)
            conn.unbind()
        print(f"{'  (ldap3 defaults: connect+bind)':34} {'':9} {'':7} {statistics.median(defaults):9.2f} {p95(defaults):7.2f}")
        print("(*) the lab locks an account after 3 bad binds: later samples are 775 (locked) answers;")
        print("    unlock then clears that lock on every run.")
    finally:
        directory.close()
        bare.service.unbind()
        for dn, _, _ in users.values():
            lablib.delete_user(admin, dn)
        admin.unbind()


if __name__ == "__main__":
    main()
