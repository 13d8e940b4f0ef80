"""The kiosk's text field: what a person types or pastes, minus control characters.

Textual draws an Input's value to the terminal as it is, so a pasted
``ESC[2J`` or OSC 52 sequence would be acted on by the kiosk's own terminal.
Every insertion (a key, a paste) goes through ``replace``; control characters
(C0, DEL, C1) are dropped there, for every field of the kiosk. A field also
empties itself when its screen is discarded: nothing of one person outlives
the screen that asked for it, even off screen.
"""

from __future__ import annotations

import unicodedata

from textual.widgets import Input


def printable(text: str) -> str:
    return "".join(char for char in text if unicodedata.category(char) != "Cc")


class TextField(Input):
    def replace(self, text: str, start: int, end: int) -> None:
        super().replace(printable(text), start, end)

    def on_unmount(self) -> None:
        self.set_reactive(Input.value, "")
