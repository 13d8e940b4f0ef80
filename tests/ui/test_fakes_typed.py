"""The UI tests' fakes keep to the same ports as the real use cases
(``kiosk.backend.ports``): the type checker says so, so the fakes cannot drift."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_fakes_satisfy_the_ports():
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--follow-imports=silent", "tests/ui/fakes.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
