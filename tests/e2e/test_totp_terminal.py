"""TOTP enrollment in the real ``kiosk`` program in tmux at 80x24, TERM=linux:
the whole QR code and the key as text are on the screen, and a code computed
by the test's own RFC 6238 implementation from that key completes it."""

from __future__ import annotations

import re
import stat
import time

import pytest

import totp_reference as ref
from conftest import PYTHON
from tmuxdriver import TmuxDriver

pytestmark = pytest.mark.e2e

WELCOME = "What do you need?"
KEY_LINE = re.compile(r"^\s+((?:[A-Z2-7]{4} ){3}[A-Z2-7]{4})\s")


def qr_rows(screen: str) -> list[str]:
    """The QR code's cell rows: from its top edge (a run of full blocks) down,
    the same columns, while they hold only half and full blocks and spaces."""
    lines = screen.splitlines()
    for index, line in enumerate(lines):
        top = re.search(r"█{20,}", line)
        if top:
            break
    else:
        return []
    rows = []
    for line in lines[index:]:
        cells = line[top.start() : top.end()]
        if len(cells) != top.end() - top.start() or not set(cells) <= set("█▀▄ ") or cells[0] not in "█▀":
            break
        rows.append(cells)
    return rows


def test_enrolling_an_authenticator_at_80x24_on_a_linux_console(term: TmuxDriver, demo_config, tmp_path):
    config = demo_config()
    key_file = tmp_path / "secrets" / "kiosk_totp_key"
    key_file.parent.mkdir()
    config.write_text(
        config.read_text() + f'\n[features]\ntotp = true\n\n[factors]\ntotp_key_file = "{key_file}"\n'
    )
    assert term.term == "linux" and (term.cols, term.rows) == (80, 24)
    term.start([PYTHON, "-m", "kiosk", "--config", str(config)])
    term.wait_for(WELCOME, timeout=15)
    term.wait_for("Set up an authenticator app")
    term.keys("Down", "Down", "Down", "Enter")
    term.wait_for("Who are you?")
    term.type("bob")
    term.keys("Enter")
    term.wait_for("Current password", timeout=15)
    term.type("Demo!Bob22")
    term.keys("Enter")
    screen = term.wait_until(lambda s: "Scan this" in s and "Enter: check" in s and len(qr_rows(s)) >= 15, timeout=15, what="the QR code")

    rows = qr_rows(screen)
    lines = screen.splitlines()
    assert len(lines) <= 24 and all(len(line) <= 80 for line in lines)
    assert rows[0].strip() == "█" * len(rows[0].strip())  # the quiet zone's top edge is on screen
    assert set(rows[-1].strip()) <= {"▀", "█"}  # and its bottom edge
    assert len(rows) <= 22
    key = "".join(match.group(1).replace(" ", "") for line in lines if (match := KEY_LINE.match(line)))
    assert len(key) == 32, screen

    term.type(ref.code(key, time.time()))
    term.keys("Enter")
    codes_screen = term.wait_for("Your recovery codes", timeout=15)
    codes = re.findall(r"\b[a-z2-9]{5}-[a-z2-9]{5}\b", codes_screen)
    assert len(codes) == 10
    # An Enter that arrives while the screen is still settling goes to the
    # typeahead, which a screen without fields drops: press again until it lands.
    for _ in range(20):
        term.keys("Enter")
        screen = term.wait_until(lambda s: "is set up" in s or "Your recovery codes" in s, what="a screen")
        try:
            term.wait_for("authenticator app is set up", timeout=0.5)
            break
        except AssertionError:
            continue
    term.wait_for("authenticator app is set up", timeout=5)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key not in (tmp_path / "kiosk.db").read_bytes().decode("latin-1")
