"""Every script in bench/ still runs: each in its quick mode, as a person would run it.

The README quotes figures these scripts print; a script that no longer runs
cannot back them. Each runs here as a subprocess with the repo's venv python
and --quick (a round or two, small sizes: a check that it works, not a
measurement), against the real components it needs: the Samba lab for
bench/directory.py (its settings in the environment, as ``eval "$(scripts/ad-lab
env .lab)"`` would leave them), a throwaway PostgreSQL database for
bench/store_scale.py (its --postgresql-url), tmux for bench/startup.py. The
test asserts the exit status and that the figures (numbers) are printed;
never how fast anything is.

A new script in bench/ must get a case here (test_every_script_has_a_case).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv/bin/python").exists() else sys.executable
TIMEOUT = 180

pytestmark = pytest.mark.bench

NUMBER = r"[-+]?\d+(?:[.,]\d+)*"

#: script -> lines (regular expressions) its quick run must print
FIGURES: dict[str, tuple[str, ...]] = {
    "directory.py": (
        rf"Samba AD lab ldaps://\S+, 2 runs \(reset: 2\), times in ms",
        *(
            rf"^{re.escape(operation)}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}x$"
            for operation in (
                "find_account",
                "verify_password ok",
                "verify_password bad (*)",
                "unlock",
                "reset_password",
                "password_policy (cached domain)",
                "fresh connect+TLS+bind",
            )
        ),
        rf"\(ldap3 defaults: connect\+bind\)\s+{NUMBER}\s+{NUMBER}$",
    ),
    "enumeration.py": (
        r"(demo directory|Samba AD lab \S+), cheapest argon2 \(--quick\), no pause \(the work alone\), 1 rounds; median ms, directory calls",
        r"^reset: identify \+ challenge \+ verify$",
        r"^enrollment: identify \+ prove_password$",
        *(
            # per step and in total: time and directory calls [LDAP operations on the lab]; then the ratios
            rf"^  {re.escape(kind)}\s+(?:{NUMBER} ms\s+{NUMBER}(?:-{NUMBER})?(?: \[{NUMBER}(?:-{NUMBER})?\])?\s+){{{steps}}}"
            rf"{NUMBER}x \(\s*{NUMBER} %\)\s+(?:{NUMBER}x|same|more)"
            for kind in ("enrolled, wrong", "unknown", "unenrolled", "ineligible")
            for steps in (3 + 1, 2 + 1)
        ),
        rf"largest time difference {NUMBER} %",
    ),
    "verify_timing.py": (
        r"argon2id t=1 m=8 p=1, 3 answers, 2 rounds each",
        rf"enrolled, wrong answers: median {NUMBER} ms",
        rf"unknown \(decoys\):\s+median {NUMBER} ms",
        rf"relative difference of medians: {NUMBER}%",
        rf"median paired difference: {NUMBER}%",
    ),
    "store_scale.py": (
        *(
            rf"== {engine}\nusers: 200 .*\nsize: {NUMBER} MB\s+->\s+{NUMBER} bytes per user.*\n"
            rf"get\(\) enrolled: p50 {NUMBER} ms\s+p99 {NUMBER} ms.*\n"
            rf"get\(\) unknown:\s+p50 {NUMBER} ms\s+p99 {NUMBER} ms.*\n"
            rf"verifications: {NUMBER} per second"
            for engine in ("sqlite", "postgresql")
        ),
    ),
    "startup.py": (
        r"startup, 1 runs each",
        *(
            rf"^{name}\s+{NUMBER} ms \({NUMBER}-{NUMBER}\)\s+{NUMBER} MiB \({NUMBER}-{NUMBER}\)\s+{NUMBER} MiB"
            for name in ("bare", "kiosk", "kiosk-ad")
        ),
        rf"kiosk/bare:\s+first frame {NUMBER}x, RSS {NUMBER}x",
        rf"kiosk-ad/bare:\s+first frame {NUMBER}x, RSS {NUMBER}x",
        rf"import kiosk\.app\s+{NUMBER} ms",
    ),
    "capacity.py": (
        r"capacity: 2 sessions of each kind \(kiosk: (demo directory|Samba AD lab), backend (inprocess|socket)(, forkserver)?\)",
        *(
            # first frame p50 p95 max, startup CPU, PSS, idle CPU, ready/started
            rf"^{kind}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+2/2$"
            for kind in ("kiosk", "bare")
        ),
        rf"kiosk/bare: first frame {NUMBER}x .*startup CPU {NUMBER}x .*PSS {NUMBER}x .*idle CPU {NUMBER}x",
        rf"unlock at {NUMBER}/s over 2 kiosk sessions \(the bare apps closed\): 2 started, 2 unlocked;"
        rf" Enter -> result ms p50 {NUMBER}\s+p95 {NUMBER}",
        rf"CPU per unlock \(.*\): sessions {NUMBER} ms",
        r"storm: 2 sessions started evenly within 1 s",
        *(rf"^{kind}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+2/2$" for kind in ("bare", "kiosk")),
        rf"kiosk storm: all first frames within {NUMBER} s of the first start",
    ),
    "password_quality.py": (
        rf"password quality, {NUMBER} rounds, zxcvbn sees at most {NUMBER} characters",
        rf"blocklist load: {NUMBER} ms, {NUMBER} MiB traced, RSS \+{NUMBER} MiB \({NUMBER} common passwords\)",
        *(
            rf"^{re.escape(case)}\s+{NUMBER}\s+{NUMBER}$"
            for case in ("random, 15 characters", "random, 64 characters", "repeated pattern, 64", "paste, 200 characters")
        ),
        rf"pwned range lookup \(1,000 lines\): p50 {NUMBER} ms\s+p99 {NUMBER} ms\s+peak {NUMBER} KiB",
        *(
            rf"keystroke to checklist{rules} \({NUMBER} keys, Pilot, headless\): p50 {NUMBER} ms\s+p99 {NUMBER} ms\s+max {NUMBER} ms"
            for rules in ("", " AD rules only")
        ),
    ),
}


def run_bench(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run bench/<script> quick; fail with its output unless it exits 0 printing FIGURES[script].

    Quick through --quick, or through KIOSK_BENCH_QUICK=1 when env sets it.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("KIOSK_TEST_", "KIOSK_BENCH_"))}
    environ.update(env or {})
    quick = [] if environ.get("KIOSK_BENCH_QUICK") == "1" else ["--quick"]
    try:
        done = subprocess.run(
            [PYTHON, str(BENCH / script), *quick, *args],
            cwd=REPO, env=environ, capture_output=True, text=True, timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"bench/{script} (quick) still running after {TIMEOUT}s\n{e.stdout}\n{e.stderr}", pytrace=False)
    output = f"--- stdout ---\n{done.stdout}\n--- stderr ---\n{done.stderr}"
    assert done.returncode == 0, f"bench/{script} (quick) exited {done.returncode}\n{output}"
    assert "Traceback" not in done.stderr, output
    missing = [p for p in FIGURES[script] if not re.search(p, done.stdout, re.MULTILINE)]
    assert not missing, f"bench/{script} (quick) did not print:\n" + "\n".join(missing) + f"\n{output}"
    return done.stdout


def test_every_script_has_a_case():
    assert sorted(p.name for p in BENCH.glob("*.py")) == sorted(FIGURES)


def test_enumeration():
    run_bench("enumeration.py")


def test_enumeration_on_the_lab(lab):
    run_bench("enumeration.py", "--lab", env=lab.env)


def test_verify_timing_quick_from_the_environment():
    run_bench("verify_timing.py", env={"KIOSK_BENCH_QUICK": "1"})


def test_directory(lab):
    # What `eval "$(scripts/ad-lab env DIR)"` leaves in a person's shell.
    run_bench("directory.py", env=lab.env)


def test_store_scale(pg_url):
    run_bench("store_scale.py", "--postgresql-url", pg_url)


def test_password_quality():
    run_bench("password_quality.py")


CAPACITY_STORM = ("--storm", "2", "--within", "1")


def test_capacity():
    run_bench("capacity.py", *CAPACITY_STORM)


def test_capacity_on_the_lab(lab):
    out = run_bench("capacity.py", "--lab", *CAPACITY_STORM, env=lab.env)
    assert re.search(rf"LDAP connections to the DC held at idle .*kiosk sessions {NUMBER} for 2", out), out


def test_capacity_with_a_backend_over_a_socket():
    done = subprocess.run([PYTHON, "-m", "kiosk", "backend", "--help"], capture_output=True, timeout=60)
    if done.returncode != 0:
        pytest.skip("this kiosk has no `kiosk backend` command yet")
    out = run_bench("capacity.py", "--backend", "socket", *CAPACITY_STORM)
    assert re.search(rf"backend \(one for the run\): PSS {NUMBER} MiB", out), out


def test_capacity_with_the_forkserver():
    out = run_bench("capacity.py", "--backend", "socket", "--forkserver", *CAPACITY_STORM)
    assert re.search(rf"forkserver \(one for the run\): PSS {NUMBER} MiB .* then {NUMBER} ms per kiosk session started", out), out


@pytest.mark.e2e
def test_startup():
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (scripts/bootstrap --test installs it)")
    run_bench("startup.py")
