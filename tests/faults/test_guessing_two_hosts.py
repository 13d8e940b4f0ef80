"""Guessing from two kiosk hosts that share one PostgreSQL store.

Two separate processes, each started from its own kiosk.toml as a real host
would be (its own kiosk.terminal_id and audit log, the same store.url), guess
one person's answers 500 times each, at the same moment. An attacker who walks
from one building to the other must get no more tries than at one kiosk: every
attempt is counted exactly once, and exactly the configured number are checked.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.backend.audit import read_events
from kiosk.backend.directory.demo import DEMO_BASE_DN, DEMO_DNS, DEMO_NETBIOS, DemoDirectory, DemoUser
from kiosk.backend.errors import Throttled
from kiosk.backend.wiring import build_service
from kiosk.config.loading import load_settings
from kiosk.messages import error_text

ACCOUNT_LIMIT = 7
HOSTS = ("building-a", "building-b")
ATTEMPTS_EACH = 500
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]

#: One kiosk host: its own config, the demo directory (alice), wrong answers until told to stop.
_HOST = """
import collections, json, sys, time
from pathlib import Path
from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import Throttled, VerificationFailed
from kiosk.backend.wiring import build_service
from kiosk.config.loading import load_settings

settings = load_settings(sys.argv[1])
service = build_service(settings, directory=DemoDirectory((DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),)))
terminal = settings.kiosk.terminal_id
start = Path(sys.argv[2])
print("ready", flush=True)
while not start.exists():
    time.sleep(0.005)
outcomes = collections.Counter()
for _ in range(int(sys.argv[3])):
    visit = service.begin("alice", terminal)
    service.challenge(visit)
    try:
        service.verify(visit, ["wrong", "wrong", "wrong"])
        outcomes["verified"] += 1
    except VerificationFailed:
        outcomes["failed"] += 1
    except Throttled:
        outcomes["throttled"] += 1
service.close()
print(json.dumps(outcomes), flush=True)
"""


def _write_config(path: Path, *, terminal: str, store_url: str, audit: Path) -> Path:
    path.write_text(
        f"""
[directory]
kind = "demo"
domains = [{{ netbios = "{DEMO_NETBIOS}", dns = "{DEMO_DNS}", base_dn = "{DEMO_BASE_DN}" }}]
default_domain = "{DEMO_NETBIOS}"

[store]
url = "{store_url}"

[audit]
file = "{audit}"

[kiosk]
terminal_id = "{terminal}"

[answers]  # the cheapest argon2id a file may ask for: this test is about counting, not hashing
time_cost = 5
memory_cost_kib = 7168
parallelism = 1

[throttle]
account_max_failures = {ACCOUNT_LIMIT}
terminal_max_failures = 100000
window_seconds = 86400
lock_seconds = 86400
delay_seconds = 0
""",
        encoding="utf-8",
    )
    return path


def test_a_thousand_guesses_from_two_hosts_are_counted_exactly_and_capped(tmp_path, pg_url):
    configs = {
        host: _write_config(tmp_path / f"{host}.toml", terminal=host, store_url=pg_url, audit=tmp_path / f"{host}.jsonl")
        for host in HOSTS
    }
    setup = build_service(load_settings(configs[HOSTS[0]]), directory=DemoDirectory(
        (DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),)))
    visit = setup.begin("alice", "setup")
    setup.prove_password(visit, "Demo!Alice1")
    setup.enroll(visit, ANSWERS)

    start = tmp_path / "start"
    hosts = [
        subprocess.Popen(
            [sys.executable, "-c", _HOST, str(configs[host]), str(start), str(ATTEMPTS_EACH)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for host in HOSTS
    ]
    try:
        for host in hosts:
            assert host.stdout.readline().strip() == "ready", host.stderr.read()
        began = time.monotonic()
        start.touch()  # both hosts guess at the same moment: the most contention
        outputs = [host.communicate(timeout=120) for host in hosts]
    finally:
        for host in hosts:
            host.kill()
    elapsed = time.monotonic() - began
    assert all(h.returncode == 0 for h in hosts), [err for _, err in outputs]
    per_host = [collections.Counter(json.loads(out.strip().splitlines()[-1])) for out, _ in outputs]
    totals = sum(per_host, collections.Counter())
    print(f"{len(HOSTS)} hosts x {ATTEMPTS_EACH} guesses in {elapsed:.1f}s: {dict(totals)}, per host {per_host}")

    # Exactly the limit were checked (and failed), whichever host they came from; the rest refused.
    assert totals == {"failed": ACCOUNT_LIMIT, "throttled": len(HOSTS) * ATTEMPTS_EACH - ACCOUNT_LIMIT}
    status = setup._throttle.status(visit.throttle_key)
    assert status.failures == ACCOUNT_LIMIT and status.locked_until is not None

    # Each host's audit log has one line per attempt it saw, its own terminal on each.
    for host, counted in zip(HOSTS, per_host):
        events = [e for e in read_events(tmp_path / f"{host}.jsonl") if e["event"] == "verify"]
        expected = collections.Counter(failure=counted["failed"], throttled=counted["throttled"])
        assert collections.Counter(e["outcome"] for e in events) == +expected  # (+ drops zeros)
        assert {e["terminal"] for e in events} == {host}

    # At either building, even the right answers are refused now.
    visit = setup.begin("alice", HOSTS[1])
    setup.challenge(visit)
    with pytest.raises(Throttled) as refused:
        setup.verify(visit, [a for _, a in ANSWERS])
    assert "Too many attempts" in error_text(refused.value)
    setup.close()
