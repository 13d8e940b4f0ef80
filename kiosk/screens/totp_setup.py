"""TOTP enrollment: the QR code and the key as text, then the first code.

The code sits at the right and takes the height of the screen (at most 22 rows
of half blocks below the banner); the words, the key and the field at the left.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from kiosk.backend.model import TotpSetup
from kiosk.messages import text
from kiosk.screens.base import KioskScreen
from kiosk.widgets.qr import QrCode
from kiosk.widgets.text_field import TextField

CODE_MAX = 16


def grouped(secret: str) -> str:
    """The key as people type it: groups of four, four groups a line."""
    groups = [secret[i : i + 4] for i in range(0, len(secret), 4)]
    return "\n".join(" ".join(groups[i : i + 4]) for i in range(0, len(groups), 4))


class TotpSetupScreen(KioskScreen):
    title_key = "totp.setup_title"
    keys_key = "totp.setup_keys"
    DEFAULT_CSS = """
    TotpSetupScreen #setup { height: 1fr; }
    TotpSetupScreen #left { width: 1fr; height: 100%; padding: 0 1 0 0; }
    TotpSetupScreen #left Input { width: 100%; }
    TotpSetupScreen #title { margin: 0; }
    TotpSetupScreen #secret { height: auto; margin: 1 0 0 0; text-style: bold; }
    /* The key hints share the left column with the words: a longer translation wraps. */
    TotpSetupScreen #keys { height: auto; }
    """

    def __init__(self, setup: TotpSetup, on_submit: Callable[[str], None]) -> None:
        super().__init__()
        self._setup = setup
        self._on_submit = on_submit

    def compose(self) -> ComposeResult:
        yield Static(text("too_small"), id="too-small", markup=False)
        with Vertical(id="body"):
            yield Static(self.host.banner_text, id="banner", markup=False)
            with Horizontal(id="setup"):
                with Vertical(id="left"):
                    yield Static(self.screen_title(), id="title", markup=False)
                    yield Static(text("totp.setup_intro"), classes="label", markup=False)
                    yield Static(grouped(self._setup.secret), id="secret", markup=False)
                    yield Static(text("totp.setup_code"), classes="label", markup=False)
                    yield TextField(id="code", max_length=CODE_MAX, select_on_focus=False)
                    yield Static("", id="message", markup=False)
                    yield Static(text(self.keys_key), id="keys", markup=False)
                yield QrCode(self._setup.uri, id="qr")

    def submit(self) -> None:
        code = self.take_field("#code", "totp.setup_empty")
        if code is not None:
            self._on_submit(code)

    def show_refusal(self, message: str) -> None:
        field = self.query_one("#code", TextField)
        field.clear()
        self.say(message)
        self.set_focus(field)
