"""The real ``kiosk`` program on the real backend: a session in tmux whose
``backend.socket`` names a running ``kiosk backend`` (the demo directory).

A person unlocks through it; the backend killed in the middle of a visit
gives the plain words of the fault screen; once it runs again the next visit
works, in the same session.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend_support import Backend, demo_config
from conftest import PYTHON
from kiosk.messages import text
from test_kiosk_terminal import CHALLENGE, WELCOME, answer_challenge, choose
from tmuxdriver import TmuxDriver

pytestmark = pytest.mark.e2e

CAROL = {"born": "Lyon", "pet": "Misty", "street": "Oak Lane"}


@pytest.fixture
def backend() -> Iterator[Backend]:
    workdir = Path(tempfile.mkdtemp(prefix="kiosk-backend-"))
    socket = workdir / "backend.sock"
    config = demo_config(
        workdir, session_user=pwd.getpwuid(os.getuid()).pw_name, extra=f'socket = "{socket}"'
    )
    running = Backend(config, socket)
    running.start()
    yield running
    if running.process is not None and running.process.poll() is None:
        running.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def unlock_carol(term: TmuxDriver) -> None:
    choose(term, "unlock")
    term.type("carol")
    term.wait_for("│  carol ")
    term.keys("Enter")
    term.wait_for(CHALLENGE)
    answer_challenge(term, CAROL)


def test_a_session_on_the_backend_unlocks_and_survives_a_backend_restart(term: TmuxDriver, backend: Backend):
    term.start([PYTHON, "-m", "kiosk", "--config", str(backend.config)])
    term.wait_for(WELCOME, timeout=15)

    unlock_carol(term)
    term.wait_for("is unlocked", timeout=15)
    term.keys("Enter")

    choose(term, "unlock")
    term.type("carol")
    term.wait_for("│  carol ")
    term.keys("Enter")
    term.wait_for(CHALLENGE)
    backend.kill()
    answer_challenge(term, CAROL)
    words = text("error.backend_unavailable")
    screen = term.wait_for(words[:40], timeout=15)
    assert "Traceback" not in screen
    term.keys("Enter")
    term.wait_for(WELCOME)

    backend.start()
    unlock_carol(term)
    term.wait_for("is unlocked", timeout=15)
    assert term.alive()
    term.signal(signal.SIGTERM)
    assert term.wait_exit() == 0
