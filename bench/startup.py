"""Startup cost of the kiosk against a bare Textual app, on this machine, in this run.

    .venv/bin/python bench/startup.py [-n 9] [--no-importtime] [--quick]

Method (notes §4): one tmux server; each run opens a new 80x24 window running
the program (TERM=linux, COLORTERM unset) and polls ``capture-pane`` every
5 ms until the program's text is on screen: that is the time to first frame.
RSS is VmRSS from /proc/PID/status 1 s after the first frame. The two
programs alternate, N runs each; medians (min-max) and the kiosk/bare ratios
are printed (goal: <= 1.25x each). Nothing is asserted.

    kiosk     python -m kiosk --config <demo kiosk.toml>   (the real entry point:
              provisional settings, lockdown, KioskApp; after the first frame
              the settings are validated in a child process and the backend is
              built in a thread; the demo directory, so no network)
    kiosk-ad  the same with kind = "ad" (a DC on a closed loopback port): the
              backend then also loads ldap3 and ssl, which any AD client needs
    bare      a Textual app with a Label, two Inputs and a Button, run(mouse=False)

Then, if cheap, ``python -X importtime -c "import kiosk.app"``: the biggest
cumulative imports, and import medians of textual.app vs kiosk.app.

--quick (or KIOSK_BENCH_QUICK=1): one run of each program without the warm-up
run, imports timed once, to check that the script still works
(tests/integration/test_bench_scripts.py); not a measurement. Needs tmux.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv/bin/python").exists() else sys.executable
POLL = 0.005
TIMEOUT = 20.0

BARE_APP = '''
from textual.app import App
from textual.widgets import Button, Input, Label

class Bare(App):
    def compose(self):
        yield Label("BARE-READY What do you need?")
        yield Input(placeholder="user name")
        yield Input(password=True)
        yield Button("Continue")

Bare().run(mouse=False)
'''

DEMO_CONFIG = """
[directory]
kind = "demo"
default_domain = "DEMO"
[[directory.domains]]
netbios = "DEMO"
dns = "demo.example"
base_dn = "DC=demo,DC=example"

[store]
url = "sqlite://{dir}/kiosk.db"

[audit]
file = "{dir}/audit.jsonl"

[kiosk]
log_file = "{dir}/kiosk.log"
terminal_id = "bench"
"""

AD_CONFIG = """
[directory]
urls = ["ldaps://127.0.0.1:1"]
service_user = "BENCH\\\\svc-kiosk"
default_domain = "BENCH"
[[directory.domains]]
netbios = "BENCH"
dns = "bench.example"
base_dn = "DC=bench,DC=example"

[store]
url = "sqlite://{dir}/kiosk-ad.db"

[audit]
file = "{dir}/audit-ad.jsonl"

[kiosk]
log_file = "{dir}/kiosk-ad.log"
terminal_id = "bench"
"""


class Tmux:
    def __init__(self) -> None:
        self.socket = f"kiosk-bench-{secrets.token_hex(4)}"
        self.run("new-session", "-d", "-s", "bench", "-x", "80", "-y", "24", "sleep", "3600")

    def run(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10, check=True
        ).stdout

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def one_run(tmux: Tmux, argv: list[str], text: str) -> tuple[float, float, float]:
    """(seconds to first frame, VmRSS MiB at the first frame, VmRSS MiB 1 s later)"""
    command = ["env", "-u", "COLORTERM", "TERM=linux", "KIOSK_DIRECTORY__SERVICE_PASSWORD=bench", *argv]
    started = time.perf_counter()
    pane = tmux.run("new-window", "-d", "-P", "-F", "#{pane_id} #{pane_pid}", "-t", "bench", *command).split()
    pane_id, pid = pane[0], int(pane[1])
    try:
        deadline = started + TIMEOUT
        while text not in tmux.run("capture-pane", "-p", "-t", pane_id):
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{argv[-1]!r}: {text!r} not on screen after {TIMEOUT}s")
            time.sleep(POLL)
        first_frame = time.perf_counter() - started
        rss_first = vm_rss_mib(pid)
        time.sleep(1.0)
        rss = vm_rss_mib(pid)
    finally:
        tmux.run("kill-pane", "-t", pane_id)  # SIGHUP: the kiosk exits, the bare app dies
        reap(pid)
    return first_frame, rss_first, rss


def vm_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def reap(pid: int) -> None:
    deadline = time.monotonic() + 5
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] if Path(f"/proc/{pid}/stat").exists() else "Z"
        if state == "Z":
            return
        time.sleep(0.02)
    if Path(f"/proc/{pid}").exists():
        os.kill(pid, 9)


def summary(values: list[float], unit: str, scale: float = 1.0) -> str:
    v = [x * scale for x in values]
    return f"{statistics.median(v):7.1f} {unit} ({min(v):.1f}-{max(v):.1f})"


def import_median(module: str, n: int) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        subprocess.run([PYTHON, "-c", f"import {module}"], check=True, timeout=60)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def importtime_top(module: str, top: int) -> list[tuple[int, str]]:
    done = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", f"import {module}"], capture_output=True, text=True, timeout=60
    )
    rows = []
    for line in done.stderr.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if match:
            depth = (len(match.group(3)) - 1) // 2
            rows.append((int(match.group(2)), depth, match.group(4)))
    # the biggest cumulative costs, at most 3 levels deep (deeper rows repeat their parents)
    rows = [r for r in rows if r[1] <= 2]
    rows.sort(reverse=True)
    return [(us, "  " * depth + name) for us, depth, name in rows[:top]]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, help="runs per program (default 9; --quick: 1)")
    parser.add_argument("--no-importtime", action="store_true")
    parser.add_argument(
        "--quick", action="store_true", default=os.environ.get("KIOSK_BENCH_QUICK") == "1",
        help="one run each, no warm-up: checks the script works (also KIOSK_BENCH_QUICK=1)",
    )
    args = parser.parse_args()
    args.n = args.n or (1 if args.quick else 9)
    if shutil.which("tmux") is None:
        print("bench/startup.py needs tmux (scripts/bootstrap --test installs it)", file=sys.stderr)
        return 1

    # A deployed kiosk runs from bytecode written at install; with
    # PYTHONDONTWRITEBYTECODE set (CI shells often have it), edited modules
    # would be compiled again at every start and counted here.
    subprocess.run([PYTHON, "-m", "compileall", "-q", str(REPO / "kiosk")], check=True, timeout=120)
    work = Path(tempfile.mkdtemp(prefix="kiosk-bench-startup-"))
    config = work / "kiosk.toml"
    config.write_text(DEMO_CONFIG.format(dir=work))
    ad_config = work / "kiosk-ad.toml"
    ad_config.write_text(AD_CONFIG.format(dir=work))
    bare = work / "bare.py"
    bare.write_text(BARE_APP)
    programs = {
        "bare": ([PYTHON, str(bare)], "BARE-READY"),
        "kiosk": ([PYTHON, "-m", "kiosk", "--config", str(config)], "What do you need?"),
        "kiosk-ad": ([PYTHON, "-m", "kiosk", "--config", str(ad_config)], "What do you need?"),
    }
    results: dict[str, dict[str, list[float]]] = {name: {"ttff": [], "rss0": [], "rss": []} for name in programs}
    tmux = Tmux()
    try:
        warm_up = {} if args.quick else programs
        for name, (argv, text) in warm_up.items():  # warm .pyc and page cache, not counted
            one_run(tmux, argv, text)
        for index in range(args.n):
            order = list(programs) if index % 2 == 0 else list(reversed(programs))
            for name in order:
                argv, text = programs[name]
                ttff, rss0, rss = one_run(tmux, argv, text)
                results[name]["ttff"].append(ttff)
                results[name]["rss0"].append(rss0)
                results[name]["rss"].append(rss)
    finally:
        tmux.close()
        shutil.rmtree(work, ignore_errors=True)

    print(f"startup, {args.n} runs each, medians (min-max); python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print(f"{'':8} {'first frame':>26} {'RSS at first frame':>26} {'RSS 1 s later':>26}")
    for name in programs:
        r = results[name]
        print(
            f"{name:8} {summary(r['ttff'], 'ms', 1000):>26} {summary(r['rss0'], 'MiB'):>26}"
            f" {summary(r['rss'], 'MiB'):>26}"
        )
    for name in ("kiosk", "kiosk-ad"):
        ratio_t = statistics.median(results[name]["ttff"]) / statistics.median(results["bare"]["ttff"])
        ratio_m = statistics.median(results[name]["rss"]) / statistics.median(results["bare"]["rss"])
        print(f"{name + '/bare:':15} first frame {ratio_t:.2f}x, RSS {ratio_m:.2f}x (goal <= 1.25x each)")

    if not args.no_importtime:
        n = 1 if args.quick else max(3, args.n // 2)
        print(f"\nimport medians ({n} fresh interpreters, wall time incl. ~15 ms interpreter start):")
        for module in ("textual.app", "kiosk.config", "kiosk.app", "kiosk.config.loading"):
            print(f"  import {module:20} {import_median(module, n) * 1000:6.0f} ms")
        print("\npython -X importtime -c 'import kiosk.app': biggest cumulative (us, up to 3 levels deep)")
        for us, name in importtime_top("kiosk.app", 18):
            print(f"  {us:8d}  {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
