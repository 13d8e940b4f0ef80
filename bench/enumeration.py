"""Can a stranger tell people apart by how long the kiosk takes to say no, or by
how much it asks the directory?

    .venv/bin/python bench/enumeration.py [--rounds 15] [--quick] [--pause S] [--lab [--lab-dir DIR]]

Drives two visits as the screens do, for four kinds of people: unknown,
enrolled nowhere (unenrolled), ineligible (a privileged account), and enrolled
but wrong:

* reset: identify (SelfService.begin), challenge, verify (wrong answers,
  VerificationFailed);
* enrollment: identify, prove_password (a wrong password, InvalidCredentials).

For every step and in total it prints the median time and the directory calls
made (the Directory protocol's methods, counted by a wrapper; on the lab also
[the LDAP operations] under them: search, bind, rebind, modify, compare), and
the differences as ratios against the enrolled path (1.000x: no difference).

Default argon2 parameters (t=3, m=64 MiB, p=4), a real SQLite store, throttle
limits high and its pause 0, so the work alone is timed. A failure's answer waits
until the pause has passed since the attempt began (``Throttle.failed``), so with
``--pause 1`` (the shipped delay_seconds) every failing step takes the same time
whatever the work behind it, and a name's look-up answers after
throttle.identify_seconds (0.05 s as shipped): that is what a person at the
terminal sees. Kinds
alternate within each round so drift hits all alike. Goal: time
within 5 % of the enrolled path. Asserts nothing (tests/faults/test_enumeration.py
checks the words).

The directory: the demo directory by default (so the directory's own latency
does not hide a difference); with --lab the Samba AD lab, from the KIOSK_TEST_*
variables when set (eval "$(scripts/ad-lab env .lab)"), else from
``scripts/ad-lab env DIR`` (--lab-dir, default $KIOSK_LAB_DIR or .lab), started
through tests/lab.py when it is not running (that needs root) and left running.
Throwaway users are created for the run and deleted afterwards. On the lab a
wrong password is a real bad bind: the enrolled and unenrolled users get
locked by AD after a few rounds (the answer stays InvalidCredentials).

With --lab it also times the directory work alone, each operation interleaved
in random order (median and 10th percentile, which a loaded machine disturbs
less): find_account for a real and an unknown name, and the refused bind of a
nobody (bind_as_nobody) next to a person's wrong password on a locked account
and on an unlocked one (the DC then writes the account's badPwdCount, which no
decoy can copy without counting against someone; a good bind resets it
between rounds, not timed).

--quick (or KIOSK_BENCH_QUICK=1): one round with the cheapest argon2 parameters,
to check that the script still works (tests/integration/test_bench_scripts.py);
not a measurement.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from kiosk.backend.directory.demo import DemoDirectory, DemoUser  # noqa: E402
from kiosk.backend.errors import InvalidCredentials, VerificationFailed  # noqa: E402
from kiosk.backend.wiring import build_service  # noqa: E402
from kiosk.cli import demo_settings  # noqa: E402
from kiosk.config import AnswerHashSettings, Settings  # noqa: E402

DEMO_USERS = (
    DemoUser("alice", "Alice", "Anders", "Demo!Alice1"),
    DemoUser("bob", "Bob", "Brown", "Demo!Bob22"),
    DemoUser("dana", "Dana", "Admin", "Demo!Dana44", groups=("CN=Domain Admins,CN=Users,DC=demo,DC=example",)),
)
REFERENCE = "enrolled, wrong"
KINDS = (REFERENCE, "unknown", "unenrolled", "ineligible")
WRONG = ["Atlantis", "Nobody", "Nowhere Lane"]
WRONG_PASSWORD = "Wrong!Bench-1"
ANSWERS = [("birth-city", "Paris"), ("first-pet", "Rex"), ("first-school", "Hillside")]
#: The Directory protocol's methods (kiosk/backend/directory/base.py).
DIRECTORY_METHODS = frozenset(
    {
        "find_account", "refresh", "verify_password", "bind_as_nobody", "unlock", "reset_password", "change_password",
        "password_policy", "search_accounts", "accounts", "read_attributes", "update_attributes", "matches",
    }
)
LDAP_OPERATIONS = ("search", "bind", "rebind", "modify", "compare")
VISITS = {"reset": ("identify", "challenge", "verify"), "enrollment": ("identify", "prove_password")}


class Tally:
    """Directory calls and LDAP operations, counted into the step being measured."""

    def __init__(self) -> None:
        self.calls = 0
        self.ldap = 0

    @contextlib.contextmanager
    def step(self) -> Iterator[Counter[str]]:
        self.calls = self.ldap = 0
        measured: Counter[str] = Counter()
        began = time.perf_counter()
        try:
            yield measured
        finally:
            measured["seconds_x1e9"] = int((time.perf_counter() - began) * 1e9)
            measured["calls"], measured["ldap"] = self.calls, self.ldap


class CountingDirectory:
    """The Directory protocol, each method call counted; everything else passed through."""

    def __init__(self, inner: Any, tally: Tally) -> None:
        self._inner, self._tally = inner, tally

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if name not in DIRECTORY_METHODS:
            return attribute

        def counted(*args: Any, **kwargs: Any) -> Any:
            self._tally.calls += 1
            return attribute(*args, **kwargs)

        return counted


def count_ldap_operations(tally: Tally) -> None:
    """Count every ldap3 Connection operation of this process (the lab's setup
    connections too, but they run outside the measured steps)."""
    from ldap3 import Connection

    for name in LDAP_OPERATIONS:
        original = getattr(Connection, name)

        def counted(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            tally.ldap += 1
            return _original(self, *args, **kwargs)

        setattr(Connection, name, counted)


@dataclasses.dataclass
class People:
    names: dict[str, str]  # kind -> what is typed
    enrolled_password: str
    cleanup: Callable[[], None]
    where: str = "demo directory"
    #: On the lab: operation -> what it does, timed alone (``directory_alone``)
    alone: dict[str, Callable[[], None]] = dataclasses.field(default_factory=dict)


def demo_people(tmp: Path) -> tuple[Settings, Any, People]:
    settings = demo_settings(tmp)
    names = {REFERENCE: "alice", "unknown": "zed", "unenrolled": "bob", "ineligible": "dana"}
    return settings, DemoDirectory(DEMO_USERS), People(names, "Demo!Alice1", lambda: None)


def lab_people(tmp: Path, lab_dir: Path) -> tuple[Settings, Any, People]:
    import lab as lablib  # tests/lab.py

    from kiosk.backend.directory import open_directory
    from kiosk.lab import lab_settings_from_env

    if os.environ.get("KIOSK_TEST_LDAP_URL"):
        env = dict(os.environ)
    elif lablib.lab_running(lab_dir):
        env = lablib.lab_env(lab_dir)
    else:
        print(f"starting the lab in {lab_dir} ...", file=sys.stderr)
        env = lablib.start_lab(lab_dir).env
    lab = lablib.Lab.from_env(env)
    settings = lab_settings_from_env(env, tmp)
    admin = lablib.admin_connection(lab)
    domain_admins = f"CN=Domain Admins,CN=Users,{lab.base_dn}"
    made = {
        REFERENCE: lablib.create_user(lab, admin, groups=[lab.staff_team_dn]),
        "unenrolled": lablib.create_user(lab, admin, groups=[lab.staff_team_dn]),
        "ineligible": lablib.create_user(lab, admin, groups=[lab.staff_team_dn, domain_admins]),
    }
    names = {kind: sam for kind, (_, sam, _) in made.items()}
    names["unknown"] = f"t-{secrets.token_hex(4)}"

    made["locked"] = lablib.create_user(lab, admin, groups=[lab.staff_team_dn])
    made["unlocked"] = lablib.create_user(lab, admin, groups=[lab.staff_team_dn])

    def cleanup() -> None:
        for dn, _, _ in made.values():
            lablib.delete_user(admin, dn)
        admin.unbind()

    people = People(names, made[REFERENCE][2], cleanup, where=f"Samba AD lab {lab.url}")
    directory = open_directory(settings.directory)
    people.alone = directory_alone(lab, lablib, directory, settings, made)
    return settings, directory, people


def directory_alone(lab: Any, lablib: Any, directory: Any, settings: Settings, made: dict) -> dict[str, Callable[[], None]]:
    """The directory operations of the identify and prove_password steps, to time alone."""
    from kiosk.backend.errors import KioskError
    from kiosk.backend.identity import parse_identity

    domains = tuple((d.netbios, d.dns) for d in settings.directory.domains)

    def identity(name: str) -> Any:
        return parse_identity(name, domains, settings.directory.effective_default_domain)

    lablib.lock_by_bad_binds(lab, lab.nt_name(made["locked"][1]))
    locked = directory.find_account(identity(made["locked"][1]))
    unlocked_dn, unlocked_sam, unlocked_password = made["unlocked"]
    unlocked = directory.find_account(identity(unlocked_sam))

    def refused(action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            with contextlib.suppress(KioskError):
                action()
        return run

    def unlocked_wrong() -> None:
        with contextlib.suppress(KioskError):
            directory.verify_password(unlocked, "Wrong!" + secrets.token_hex(4))

    return {
        "find_account, a real name": lambda: directory.find_account(identity(made[REFERENCE][1])),
        "find_account, an unknown name": lambda: directory.find_account(identity(f"t-{secrets.token_hex(4)}")),
        "bind_as_nobody": refused(lambda: directory.bind_as_nobody("Wrong!" + secrets.token_hex(4))),
        "wrong password, locked account": refused(
            lambda: directory.verify_password(locked, "Wrong!" + secrets.token_hex(4))
        ),
        "wrong password, unlocked account": unlocked_wrong,
        # not timed: a good bind resets the unlocked account's badPwdCount
        "_reset": lambda: directory.verify_password(unlocked, unlocked_password),
    }



def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="default 15; --quick: 1")
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="one round, cheapest argon2: checks the script works (also KIOSK_BENCH_QUICK=1)",
    )
    parser.add_argument(
        "--pause", type=float, default=0.0,
        help="the throttle's pause after a failure (default 0: the work alone; the shipped 1.0 times "
        "what a person at the terminal waits, the pause counted from the attempt's start)",
    )
    parser.add_argument("--lab", action="store_true", help="against the Samba AD lab, not the demo directory")
    parser.add_argument("--lab-dir", type=Path, default=Path(os.environ.get("KIOSK_LAB_DIR") or REPO / ".lab"))
    args = parser.parse_args()
    args.rounds = args.rounds or (1 if args.quick else 15)
    tally = Tally()
    with tempfile.TemporaryDirectory() as tmp:
        if args.lab:
            count_ldap_operations(tally)
            base, directory, people = lab_people(Path(tmp), args.lab_dir)
        else:
            base, directory, people = demo_people(Path(tmp))
        try:
            samples = measure(args, base, directory, people, tally)
            alone = time_alone(people.alone, rounds=args.rounds * 5)
        finally:
            people.cleanup()
    report(args, people.where, samples)
    if alone:
        print(f"\ndirectory work alone ({args.rounds * 5} rounds, random order): median, 10th percentile")
        for name, seconds in alone.items():
            tenth = statistics.quantiles(seconds, n=10)[0] if len(seconds) > 1 else seconds[0]
            print(f"  {name:36}{statistics.median(seconds) * 1e3:8.2f} ms {tenth * 1e3:8.2f} ms")


def time_alone(operations: dict[str, Callable[[], None]], rounds: int) -> dict[str, list[float]]:
    import random

    timed = [name for name in operations if not name.startswith("_")]
    seconds: dict[str, list[float]] = {name: [] for name in timed}
    for _ in range(rounds if operations else 0):
        for name in random.sample(timed, len(timed)):
            began = time.perf_counter()
            operations[name]()
            seconds[name].append(time.perf_counter() - began)
            if name == "wrong password, unlocked account":
                operations["_reset"]()
    return seconds


Samples = dict[str, dict[str, list[Counter[str]]]]  # visit -> kind -> one Counter per step, per round


def measure(args: argparse.Namespace, base: Settings, directory: Any, people: People, tally: Tally) -> Samples:
    throttle = dataclasses.replace(
        base.throttle, delay_seconds=args.pause, max_delay_seconds=args.pause,
        # the look-up's padding as shipped with a pause, none for the work alone
        identify_seconds=base.throttle.identify_seconds if args.pause else 0.0,
        account_max_failures=10**6, terminal_max_failures=10**6, lifetime_max_failures=10**6,
    )
    settings = dataclasses.replace(base, throttle=throttle)  # default argon2 parameters
    if args.quick:
        settings = dataclasses.replace(settings, answers=AnswerHashSettings(time_cost=1, memory_cost_kib=8, parallelism=1))
    service = build_service(settings, directory=CountingDirectory(directory, tally))  # type: ignore[arg-type]
    try:
        visit = service.begin(people.names[REFERENCE], "bench")
        service.prove_password(visit, people.enrolled_password)
        service.enroll(visit, ANSWERS)

        def reset_visit(name: str) -> list[Counter[str]]:
            steps = []
            with tally.step() as measured:
                visit = service.begin(name, "bench")
            steps.append(measured)
            with tally.step() as measured:
                service.challenge(visit)
            steps.append(measured)
            with tally.step() as measured, contextlib.suppress(VerificationFailed):
                service.verify(visit, WRONG)
            steps.append(measured)
            return steps

        def enrollment_visit(name: str) -> list[Counter[str]]:
            steps = []
            with tally.step() as measured:
                visit = service.begin(name, "bench")
            steps.append(measured)
            with tally.step() as measured, contextlib.suppress(InvalidCredentials):
                service.prove_password(visit, WRONG_PASSWORD)
            steps.append(measured)
            return steps

        visits = {"reset": reset_visit, "enrollment": enrollment_visit}
        for run in visits.values():  # warm up every path once
            for kind in KINDS:
                run(people.names[kind])
        samples: Samples = {v: {kind: [] for kind in KINDS} for v in visits}
        for round_ in range(args.rounds):
            order = KINDS[round_ % len(KINDS):] + KINDS[: round_ % len(KINDS)]
            for kind in order:
                for name, run in visits.items():
                    samples[name][kind].append(run(people.names[kind]))
        return samples
    finally:
        service.close()


def _ms(counters: list[Counter[str]]) -> float:
    return statistics.median(c["seconds_x1e9"] for c in counters) / 1e6


def _calls(counters: list[Counter[str]], what: str) -> str:
    low, high = min(c[what] for c in counters), max(c[what] for c in counters)
    return str(low) if low == high else f"{low}-{high}"


def _ratio(value: float, reference: float) -> str:
    if reference == 0:
        return "  same" if value == 0 else "  more"
    return f"{value / reference:5.2f}x"


def report(args: argparse.Namespace, where: str, samples: Samples) -> None:
    argon2 = "cheapest argon2 (--quick)" if args.quick else "default argon2"
    pause = f", pause {args.pause:g} s from each attempt's start" if args.pause else ", no pause (the work alone)"
    print(f"{where}, {argon2}{pause}, {args.rounds} rounds; median ms, directory calls" + (" [LDAP operations]" if args.lab else ""))
    worst = 0.0
    for visit, steps in VISITS.items():
        print(f"\n{visit}: {' + '.join(steps)}")
        header = "".join(f"{step:>24}" for step in (*steps, "total"))
        print(f"  {'kind':18}{header}   time vs enrolled  calls vs enrolled")

        def totals(kind: str) -> tuple[list[Counter[str]], float, float, float]:
            per_round = [sum(round_, Counter()) for round_ in samples[visit][kind]]
            calls = statistics.median(c["calls"] for c in per_round)
            return per_round, _ms(per_round), calls, statistics.median(c["ldap"] for c in per_round)

        _, reference_ms, reference_calls, reference_ldap = totals(REFERENCE)
        for kind in KINDS:
            cells = []
            for i in range(len(steps)):
                column = [round_[i] for round_ in samples[visit][kind]]
                cells.append(_cell(column, args.lab))
            per_round, ms, calls, ldap = totals(kind)
            cells.append(_cell(per_round, args.lab))
            diff = (ms - reference_ms) / reference_ms * 100
            worst = max(worst, abs(diff))
            ratios = _ratio(calls, reference_calls) + (f" [{_ratio(ldap, reference_ldap)}]" if args.lab else "")
            print(f"  {kind:18}{''.join(cells)}   {ms / reference_ms:6.3f}x ({diff:+5.1f} %)  {ratios}")
    print(f"\nlargest time difference {worst:.1f} % (goal <= 5 %): {'ok' if worst <= 5 else 'OVER'}")


def _cell(counters: list[Counter[str]], lab: bool) -> str:
    calls = _calls(counters, "calls") + (f" [{_calls(counters, 'ldap')}]" if lab else "")
    return f"{_ms(counters):11.1f} ms {calls:>9}"


if __name__ == "__main__":
    main()
