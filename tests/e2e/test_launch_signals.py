"""Ctrl+C and Ctrl+\\ held while a session starts (the terminal is still cooked
until the kiosk switches it to raw): the launcher ignores them from its first
line, so the kiosk comes up and nothing but the kiosk reaches the screen (no
Python traceback with install paths).

The launcher is the pane's own program here, as on a login station (getty or
systemd start it on the terminal): no shell of the test's sits in the
terminal's process group to be killed by the keys instead. The same over a
real sshd is in test_install.py.
"""

from __future__ import annotations

import itertools
import os
import signal
import time

import pytest

from conftest import LAUNCHER, PYTHON
from tmuxdriver import TmuxDriver, process_state, tmux_available

pytestmark = pytest.mark.e2e

WELCOME = "What do you need?"
#: A held key repeats about 30 times a second.
REPEAT = 1 / 30
TRIES = 5


def _start_launcher(term: TmuxDriver, config: str) -> int:
    """The launcher as the pane's program (tmux gives it the terminal); its pid."""
    env = {k: v for k, v in os.environ.items() if k != "TMUX"}
    term.tmux(
        "new-session", "-d", "-s", "k", "-x", str(term.cols), "-y", str(term.rows),
        "/usr/bin/env", "-u", "COLORTERM", f"TERM={term.term}",
        f"KIOSK_PYTHON={PYTHON}", f"KIOSK_CONFIG={config}", "/bin/sh", str(LAUNCHER),
        env=env,
    )
    return int(term.display("#{pane_pid}"))


@pytest.mark.parametrize("keys", [("C-c", "C-\\"), ("C-c",), ("C-\\",)], ids=["both", "ctrl-c", "ctrl-backslash"])
def test_keys_held_while_the_launcher_starts_leave_the_kiosk_running(demo_config, keys):
    if not tmux_available():
        pytest.skip("tmux is not installed (scripts/bootstrap --test installs it)")
    config = str(demo_config())
    up = 0
    for _ in range(TRIES):
        term = TmuxDriver()
        pid = 0
        try:
            pid = _start_launcher(term, config)
            held = itertools.cycle(keys)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and process_state(pid) not in (None, "Z"):
                if WELCOME in term.screen():
                    break
                term.keys(next(held))
                time.sleep(REPEAT)
            for _ in range(15):  # after the first screen the kiosk's own lockdown holds
                if process_state(pid) in (None, "Z"):
                    break
                term.keys(next(held))
                time.sleep(REPEAT)
            shown = term.scrollback()
            assert "Traceback" not in shown and "KeyboardInterrupt" not in shown, shown
            assert "File \"" not in shown, shown
            if process_state(pid) not in (None, "Z", "T", "t") and WELCOME in term.screen():
                up += 1
        finally:
            if pid and process_state(pid) not in (None, "Z"):
                os.kill(pid, signal.SIGHUP)
            term.close()
    print(f"kiosk up after {up} of {TRIES} tries with {'+'.join(keys)} held")
    assert up > TRIES // 2, f"the kiosk was up after only {up} of {TRIES} tries"
