"""Can a stranger tell people apart by how long the kiosk takes to say no?

    .venv/bin/python bench/enumeration.py [--rounds 15] [--quick]

Times the whole visit as the screens drive it - SelfService.begin, challenge,
verify (wrong answers, VerificationFailed) - for four kinds of people: unknown,
enrolled nowhere (unenrolled), ineligible (a privileged account), and enrolled
but answering wrong. Default argon2 parameters (t=3, m=64 MiB, p=4), the demo
directory (so the directory's own latency does not hide a difference), a real
SQLite store, throttle limits high and its pause 0 (the pause is the same for
all, and would only add noise). Kinds alternate within each round so drift hits
all alike. Prints medians and the % difference from the enrolled path; goal
<= 5 %. Asserts nothing (tests/faults/test_enumeration.py checks the words).

--quick (or KIOSK_BENCH_QUICK=1): one round with the cheapest argon2 parameters,
to check that the script still works (tests/integration/test_bench_scripts.py);
not a measurement.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

from kiosk.backend.directory.demo import DemoDirectory, DemoUser
from kiosk.backend.errors import VerificationFailed
from kiosk.backend.wiring import build_service
from kiosk.cli import demo_settings
from kiosk.config import AnswerHashSettings

USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
)
KINDS = {"enrolled, wrong answers": "alice", "unknown": "zed", "unenrolled": "bob", "ineligible": "dana"}
WRONG = ["Atlantis", "Nobody", "Nowhere Lane"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, help="default 15; --quick: 1")
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="one round, cheapest argon2: checks the script works (also KIOSK_BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 15)
    with tempfile.TemporaryDirectory() as tmp:
        base = demo_settings(Path(tmp))
        throttle = dataclasses.replace(
            base.throttle, delay_seconds=0.0, account_max_failures=10**6, terminal_max_failures=10**6)
        settings = dataclasses.replace(base, throttle=throttle)  # default argon2 parameters
        if args.quick:
            settings = dataclasses.replace(settings, answers=AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1))
        service = build_service(settings, directory=DemoDirectory(USERS))
        visit = service.begin("alice", "bench")
        service.prove_password(visit, "Demo!Alice1")
        service.enroll(visit, [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")])

        def visit_once(name: str) -> float:
            began = time.perf_counter()
            visit = service.begin(name, "bench")
            service.challenge(visit)
            try:
                service.verify(visit, WRONG)
            except VerificationFailed:
                pass
            return time.perf_counter() - began

        for name in KINDS.values():  # warm up every path once
            visit_once(name)
        times: dict[str, list[float]] = {kind: [] for kind in KINDS}
        kinds = list(KINDS)
        for round_ in range(args.rounds):
            order = kinds[round_ % len(kinds):] + kinds[: round_ % len(kinds)]
            for kind in order:
                times[kind].append(visit_once(KINDS[kind]))
        service.close()

    reference = statistics.median(times["enrolled, wrong answers"])
    argon2 = "cheapest argon2 (--quick)" if args.quick else "default argon2"
    print(f"begin+challenge+verify, {argon2}, {args.rounds} rounds; median (min-max), vs enrolled")
    worst = 0.0
    for kind, samples in times.items():
        median = statistics.median(samples)
        diff = (median - reference) / reference * 100
        worst = max(worst, abs(diff))
        print(f"  {kind:24s} {median * 1000:7.1f} ms ({min(samples) * 1000:6.1f}-{max(samples) * 1000:6.1f})  {diff:+5.1f} %")
    print(f"largest difference {worst:.1f} % (goal <= 5 %): {'ok' if worst <= 5 else 'OVER'}")


if __name__ == "__main__":
    main()
