"""A masked Input that cannot leak what is typed into it.

The stock ``Input(password=True)`` still copies its plain text to the app
clipboard and to the terminal (OSC 52) on Ctrl+C/Ctrl+X, and selects all on
focus (notes §0.4). This one cannot copy or cut, never selects on focus, has a
length limit, and ``wipe()`` empties it. Pasting into it is allowed (NIST SP
800-63B: password managers SHALL be allowed): a terminal's bracketed paste
goes through ``TextField.replace``, which drops control characters, and only
its first line is taken.
"""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from kiosk.widgets.text_field import TextField

PASSWORD_MAX = 256
ANSWER_MAX = 1024


class SecretInput(TextField):
    BINDINGS = [
        Binding("ctrl+c,super+c", "noop", show=False),
        Binding("ctrl+x", "noop", show=False),
        Binding("ctrl+shift+a", "noop", show=False),
    ]

    def __init__(self, *, max_length: int = PASSWORD_MAX, **kwargs: Any) -> None:
        kwargs.pop("password", None)
        kwargs.pop("select_on_focus", None)
        super().__init__(password=True, select_on_focus=False, max_length=max_length, **kwargs)

    def action_noop(self) -> None:
        """Copy, cut and select-all do nothing here."""

    # Belt and braces: the actions themselves do nothing, whatever key is bound to them.
    def action_copy(self) -> None:
        pass

    def action_cut(self) -> None:
        pass

    def action_select_all(self) -> None:
        pass

    def take(self) -> str:
        """The value, and the field emptied at once (read a secret exactly once)."""
        value = self.value
        self.wipe()
        return value

    def wipe(self) -> None:
        self.value = ""
        self.cursor_position = 0
