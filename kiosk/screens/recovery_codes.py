"""TOTP enrollment, last step: the ten recovery codes, shown once."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Static

from kiosk.messages import text
from kiosk.screens.base import KioskScreen


class RecoveryCodesScreen(KioskScreen):
    title_key = "totp.recovery_title"
    keys_key = "totp.recovery_keys"
    BINDINGS = [Binding("enter", "done", show=False), Binding("escape", "done", show=False)]
    DEFAULT_CSS = """
    RecoveryCodesScreen #codes { height: auto; margin: 1 0 0 2; text-style: bold; }
    """

    def __init__(self, codes: Sequence[str], on_done: Callable[[], None]) -> None:
        super().__init__()
        self._codes = tuple(codes)
        self._on_done = on_done

    def compose_form(self) -> ComposeResult:
        yield Static(text("totp.recovery_intro"), classes="hint", markup=False)
        half = (len(self._codes) + 1) // 2
        rows = [
            f"{self._codes[i]:<16}{self._codes[i + half] if i + half < len(self._codes) else ''}" for i in range(half)
        ]
        yield Static("\n".join(rows), id="codes", markup=False)

    def action_done(self) -> None:
        self._on_done()

    def wipe(self) -> None:
        super().wipe()
        self._codes = ()
        for widget in self.query("#codes"):
            if isinstance(widget, Static):
                widget.update("")
