"""What the password quality rules cost: per check, in memory, and per keystroke.

    .venv/bin/python bench/password_quality.py [--rounds 200] [--quick]

1. Memory of the blocklist: tracemalloc and RSS before and after loading zxcvbn
   and its lists (``password_quality.warm_up``), as a kiosk process pays it on
   the new-password step.
2. Time per check (``policy.evaluate``: AD's rules, the blocklist, context words,
   zxcvbn's estimate), p50/p99, for random 15- and 64-character passwords, a
   64-character run of one repeated pattern (zxcvbn's slow case), and a
   200-character paste (zxcvbn sees 32 characters at a time).
3. A lookup in a local Pwned Passwords copy: a synthetic range file of 1,000
   lines (a real one has about 800-1,100), time and the lookup's peak memory.
4. Keystroke to screen: a headless Pilot types a 64-character password into the
   new-password screen, one key at a time; each key is timed from the press to
   the checklist's update having been processed (Textual's own work included),
   then again with AD's rules alone: the difference is the quality rules' cost.

--quick (or KIOSK_BENCH_QUICK=1): a few rounds, to check that the script still
works (tests/integration/test_bench_scripts.py); not a measurement. Prints
numbers; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import secrets
import statistics
import string
import tempfile
import time
import tracemalloc
from pathlib import Path


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _random(length: int) -> str:
    alphabet = string.ascii_letters + string.digits + "#%+-=?@!"
    return "".join(secrets.choice(alphabet) for _ in range(length))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, help="default 200; --quick: 5")
    parser.add_argument("--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1")
    args = parser.parse_args()
    rounds = args.rounds or (5 if args.quick else 200)

    # 1. memory of the blocklist (before anything else loads zxcvbn)
    from kiosk.backend import password_quality as pq

    rss_before = _rss_mib()
    tracemalloc.start()
    started = time.perf_counter()
    pq.warm_up()
    load_ms = (time.perf_counter() - started) * 1000
    traced, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    rss_after = _rss_mib()
    print(f"password quality, {rounds} rounds, zxcvbn sees at most {pq.STRENGTH_CAP} characters")
    print(
        f"blocklist load: {load_ms:.0f} ms, {traced / 2**20:.1f} MiB traced, "
        f"RSS +{rss_after - rss_before:.1f} MiB ({len(pq._ranked('passwords'))} common passwords)"
    )

    # 2. time per check
    from kiosk.backend.model import Account, PasswordPolicy
    from kiosk.backend.policy import PasswordRules, evaluate

    account = Account(dn="CN=x", guid="g", sam="aliddell", domain="EXAMPLE", display_name="Alice Liddell",
                      given_name="Alice", surname="Liddell")
    quality = pq.QualityRules(context=pq.context_words(names=("Alice Liddell",), account="aliddell",
                                                      organisation="Northwind Traders", title="Password self-service"))
    rules = PasswordRules(PasswordPolicy(min_length=8), account.name_parts(), quality)
    print("per check (policy.evaluate)      p50 ms   p99 ms")
    cases = {
        "random, 15 characters": lambda: _random(15),
        "random, 64 characters": lambda: _random(64),
        "repeated pattern, 64": lambda: ("aB3$" * 16),
        "paste, 200 characters": lambda: _random(200),
    }
    for name, make in cases.items():
        times = []
        for _ in range(rounds):
            password = make()
            started = time.perf_counter()
            evaluate(rules, password, password)
            times.append((time.perf_counter() - started) * 1000)
        print(f"{name:<30} {_pct(times, 0.5):8.2f} {_pct(times, 0.99):8.2f}")

    # 3. a local Pwned Passwords copy
    with tempfile.TemporaryDirectory() as folder:
        directory = Path(folder)
        probe = _random(15)
        digest = hashlib.sha1(probe.encode()).hexdigest().upper()
        lines = sorted(f"{secrets.token_hex(18)[:35].upper()}:{secrets.randbelow(999) + 1}" for _ in range(999))
        lines.append(f"{digest[5:]}:7")
        (directory / digest[:5]).write_text("\r\n".join(sorted(lines)) + "\r\n")
        times = []
        for _ in range(rounds):
            started = time.perf_counter()
            assert pq.pwned_count(directory, probe) == 7
            times.append((time.perf_counter() - started) * 1000)
        tracemalloc.start()
        pq.pwned_count(directory, probe)
        _now, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(
            f"pwned range lookup (1,000 lines): p50 {_pct(times, 0.5):.2f} ms  p99 {_pct(times, 0.99):.2f} ms  "
            f"peak {peak / 1024:.0f} KiB"
        )

    # 4. keystroke to screen, with the quality rules and with AD's rules alone (Pilot's own cost)
    typed = _random(64) if not args.quick else _random(16)
    for label, chosen in (("", rules), (" AD rules only", PasswordRules(rules.policy, rules.name_parts))):
        keys = asyncio.run(_keystrokes(chosen, typed))
        print(
            f"keystroke to checklist{label} ({len(keys)} keys, Pilot, headless): "
            f"p50 {_pct(keys, 0.5):.1f} ms  p99 {_pct(keys, 0.99):.1f} ms  max {max(keys):.1f} ms"
        )


async def _keystrokes(rules, password: str) -> list[float]:
    from textual.app import App

    from kiosk.screens.new_password import NewPasswordScreen
    from kiosk.widgets.policy_checklist import PolicyChecklist

    class Host(App[None]):
        banner_text = "bench"

        def go_back(self) -> None: ...
        def open_typeahead(self, origin, *, secret: bool) -> None: ...
        def drop_typeahead(self) -> None: ...
        def typeahead_kept(self) -> bool:
            return False
        def typeahead_back(self, screen) -> None: ...
        def typeahead_ready(self, screen) -> None: ...

        def on_mount(self) -> None:
            self.push_screen(NewPasswordScreen(rules, on_submit=lambda _password: None))

    names = {"#": "number_sign", "%": "percent_sign", "+": "plus", "-": "minus", "=": "equals_sign",
             "?": "question_mark", "@": "at", "!": "exclamation_mark"}
    times: list[float] = []
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        checklist = app.screen.query_one(PolicyChecklist)
        for char in password:
            started = time.perf_counter()
            await pilot.press(names.get(char, char))
            await pilot.pause()
            times.append((time.perf_counter() - started) * 1000)
        assert checklist.children  # the checklist was drawn
    return times


if __name__ == "__main__":
    main()
