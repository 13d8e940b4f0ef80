"""The kiosk's terminal driver (kiosk/driver.py): an idle kiosk does not wake
up, and Esc, keys and leaving work as with Textual's own driver.

Idle CPU is a host's capacity: Textual's input thread wakes ten times a
second, which 300 idle sessions turn into a third of a core. Counted in
wake-ups (the kernel's count of times the process ran), not in time.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from conftest import PYTHON
from test_kiosk_terminal import WELCOME
from tmuxdriver import TmuxDriver, process_state

pytestmark = pytest.mark.e2e

BARE = """
from textual.app import App
from textual.widgets import Static

class Bare(App):
    def compose(self):
        yield Static("BARE-READY")

Bare().run(mouse=False)
"""


def runs(pid: int) -> int:
    """How many times the process's threads were put on a CPU (/proc/PID/task/*/schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[2])
        except (OSError, IndexError, ValueError):
            pass
    return total


def idle_runs(pid: int, seconds: float = 3.0) -> int:
    before = runs(pid)
    time.sleep(seconds)
    return runs(pid) - before


def test_an_idle_kiosk_sleeps_where_textual_ticks(term: TmuxDriver, demo_config, tmp_path: Path):
    kiosk = term.start([PYTHON, "-m", "kiosk", "--config", str(demo_config())])
    term.wait_for(WELCOME, timeout=15)
    time.sleep(1.0)  # the first frame's after-work (the backend built, the banner)
    kiosk_runs = idle_runs(kiosk)

    script = tmp_path / "bare.py"
    script.write_text(BARE)
    with TmuxDriver() as bare_term:
        bare = bare_term.start([PYTHON, str(script)])
        bare_term.wait_for("BARE-READY", timeout=15)
        time.sleep(1.0)
        bare_runs = idle_runs(bare)

    assert bare_runs >= 25, bare_runs  # Textual's input thread: ten a second
    assert kiosk_runs <= 5, kiosk_runs

    # Esc alone is still a key at once, and the kiosk still leaves at once.
    term.keys("Enter")
    term.wait_for("Who are you?")
    term.keys("Escape")
    term.wait_for(WELCOME, timeout=3)
    began = time.monotonic()
    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
    assert time.monotonic() - began < 3


def test_a_kiosk_whose_terminal_vanishes_as_it_leaves_ends_and_does_not_spin(demo_config):
    """SSH gone mid-frame: the hang-up arrives, the kiosk wipes and writes its
    last frame to a terminal that is already gone. Textual's writer thread dies
    on that error and the app then waits forever on its full queue, while the
    input thread reads end-of-file in a loop (a core's worth of orphans on a
    busy host). Tried a few times: it is a race."""
    config = str(demo_config())
    for _ in range(4):
        term = TmuxDriver()
        try:
            kiosk = term.start([PYTHON, "-m", "kiosk", "--config", config])
            term.wait_for(WELCOME, timeout=15)
            os.kill(kiosk, signal.SIGHUP)
            term.tmux("kill-server", check=False)
            deadline = time.monotonic() + 10
            while process_state(kiosk) not in (None, "Z"):
                assert time.monotonic() < deadline, f"the kiosk is still running ({idle_runs(kiosk, 1.0)} runs in 1 s)"
                time.sleep(0.05)
        finally:
            term.close()
