"""Fixtures for the end-to-end tests: the real ``kiosk`` program in tmux.

    term          function: a TmuxDriver (80x24, TERM=linux, no COLORTERM); closed after
    demo_config   function: write a kiosk.toml for the demo directory in tmp_path
                  (cheap hashing, no throttle delay, three single questions);
                  demo_config(idle_timeout_seconds=5) overrides [kiosk] keys
    in_fresh_run  argv for a command run with a new, empty /run (nothing ever started)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from support import CHEAP_LOCAL_TOML, DEMO_DIRECTORY_TOML  # noqa: E402
from tmuxdriver import TmuxDriver, tmux_available  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv/bin/python").exists() else sys.executable
LAUNCHER = REPO / "deploy" / "kiosk-launcher"

#: The questions of demo_config (id, text, answer used by the tests).
QUESTIONS = (
    ("colour", "Which colour do you like best?"),
    ("river", "Which river flows nearest to your home?"),
    ("uncle", "What is your oldest uncle's first name?"),
)

DEMO_CONFIG = DEMO_DIRECTORY_TOML + CHEAP_LOCAL_TOML + """
[kiosk]
{kiosk}

[questions]
questions = [
{questions}
]
questionnaire = [{steps}]
"""


def write_demo_config(directory: Path, **kiosk: object) -> Path:
    values = {"log_file": str(directory / "kiosk.log"), "terminal_id": "e2e", **kiosk}
    lines = "\n".join(f"{key} = {_toml(value)}" for key, value in values.items())
    questions = "\n".join(f'  {{ id = "{qid}", text = "{text}" }},' for qid, text in QUESTIONS)
    steps = ", ".join(f'{{ question = "{qid}" }}' for qid, _ in QUESTIONS)
    path = directory / "kiosk.toml"
    path.write_text(DEMO_CONFIG.format(dir=directory, kiosk=lines, questions=questions, steps=steps))
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture
def term():
    if not tmux_available():
        pytest.skip("tmux is not installed (scripts/bootstrap --test installs it)")
    driver = TmuxDriver()
    try:
        yield driver
    finally:
        driver.close()


@pytest.fixture
def demo_config(tmp_path):
    def make(**kiosk: object) -> Path:
        return write_demo_config(tmp_path, **kiosk)

    return make


def in_fresh_run(argv: Sequence[str], *, sshd_dir: bool = True) -> list[str]:
    """``argv`` in a private mount namespace whose ``/run`` is a new, empty tmpfs:
    the state of a machine where nothing was ever started (sshd installed with
    its service off has no ``/run/sshd``). With ``sshd_dir`` the test makes
    ``/run/sshd`` there itself, as the ssh service would; the host's ``/run`` is
    neither used nor changed. Needs root (``unshare``)."""
    make = "mkdir -m 0755 /run/sshd && " if sshd_dir else ""
    script = f'mount -t tmpfs -o mode=0755 kiosk-e2e-run /run && {make}exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", script, "sh", *argv]
